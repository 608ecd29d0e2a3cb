"""Notification channels: status updates posted to chat, status pages and e-mail, and pages sent to on-call, through
the outbox (outbox.py: held in the journal, one sender per journal, retried with backoff, never lost on a restart).

- attempt: what one attempt came to (delivered, queued, failed, unknown) from a service's answer;
- message: what each audience reads of an update (internal, stakeholders, customers);
- services: each kind's requests on the one HTTP layer, `check`'s reach and a page's acknowledgement;
  email: the SMTP channel (smtplib in a thread, under the channel's timeout);
- outbox: what is open and one pass of sending it; paging: pages triggered, resolved and acknowledged.
"""
