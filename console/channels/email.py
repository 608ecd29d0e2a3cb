"""The e-mail channel: Python's `smtplib`, run in a thread, every step under what is left of the channel's timeout.

Why smtplib and not aiosmtplib: it is in the standard library (no dependency to pin and audit on a bastion), and a
thread costs nothing here (one message per channel at a time). The deadline is kept by setting the socket's timeout
to the time left before each step, so a server that hangs or dribbles costs the channel's timeout, not one timeout
per step. The message is sent step by step (MAIL, RCPT, DATA, the text, the final dot) so the outcome is known:
anything that fails before the final dot leaves no mail (`queued` for a network fault or a 4xx, `failed` for a 5xx);
no answer after it is `unknown` (the server may have taken it). A resend carries the same Message-ID, which lets
mail clients fold a duplicate.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import smtplib
import socket
import ssl
import time
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import formatdate
from urllib.parse import unquote, urlsplit

from console.channels.attempt import UNKNOWN_ADVICE, Attempt
from console.channels.services import Outgoing
from console.config.channels import EmailChannel
from console.models import format_duration

_DOTS = re.compile(rb"(?m)^\.")


class _Late(Exception):
    """The channel's timeout passed."""


class _Deadline:
    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.end = time.monotonic() + seconds

    def left(self) -> float:
        left = self.end - time.monotonic()
        if left <= 0:
            raise _Late
        return left

    def arm(self, smtp: smtplib.SMTP) -> None:
        if smtp.sock is not None:
            smtp.sock.settimeout(self.left())


async def send_mail(channel: EmailChannel, message: Outgoing) -> Attempt:
    return await asyncio.to_thread(_send, channel, message)


async def noop(channel: EmailChannel) -> tuple[bool, str]:
    """`check`: connect, TLS, log in and NOOP, without sending anything."""
    return await asyncio.to_thread(_noop, channel)


def _send(channel: EmailChannel, message: Outgoing) -> Attempt:
    deadline = _Deadline(channel.timeout)
    step = ["connect"]  # the step under way: "sent" once the final dot has gone
    try:
        smtp = _open(channel, deadline)
        try:
            return _transaction(smtp, channel, _mail(channel, message), deadline, step)
        finally:
            smtp.close()
    except smtplib.SMTPResponseException as exc:
        return _refused("the server", exc.smtp_code, exc.smtp_error)
    except (_Late, TimeoutError, OSError, smtplib.SMTPException) as exc:
        late = isinstance(exc, _Late | TimeoutError)
        why = f"timeout after {format_duration(deadline.seconds)}" if late else _words(exc)
        if step[0] == "sent":
            return Attempt("unknown", f"{why}, once the message had been sent: {UNKNOWN_ADVICE}")
        return Attempt("queued", why)


def _transaction(
    smtp: smtplib.SMTP, channel: EmailChannel, mail: EmailMessage, deadline: _Deadline, step: list[str]
) -> Attempt:
    deadline.arm(smtp)
    code, reply = smtp.mail(channel.from_)
    if code != 250:
        return _refused("MAIL FROM", code, reply)
    for address in channel.to:
        deadline.arm(smtp)
        code, reply = smtp.rcpt(address)
        if code not in (250, 251):
            return _refused(f"RCPT TO {address}", code, reply)
    deadline.arm(smtp)
    code, reply = smtp.docmd("DATA")
    if code != 354:
        return _refused("DATA", code, reply)
    data = _DOTS.sub(b"..", mail.as_bytes(policy=SMTP))
    deadline.arm(smtp)
    smtp.send(data + (b"" if data.endswith(b"\r\n") else b"\r\n") + b".\r\n")
    step[0] = "sent"
    deadline.arm(smtp)
    code, reply = smtp.getreply()
    if code != 250:
        return _refused("the message", code, reply)
    with contextlib.suppress(Exception):  # the message is taken: QUIT's answer changes nothing
        deadline.arm(smtp)
        smtp.quit()
    return Attempt("delivered", f"250 to {len(channel.to)} recipient{'s' if len(channel.to) != 1 else ''}")


def _noop(channel: EmailChannel) -> tuple[bool, str]:
    deadline = _Deadline(channel.timeout)
    try:
        smtp = _open(channel, deadline)
        try:
            deadline.arm(smtp)
            code, _ = smtp.noop()
        finally:
            smtp.close()
    except smtplib.SMTPResponseException as exc:
        return False, f"SMTP {exc.smtp_code}: {_text(exc.smtp_error)}"
    except (_Late, TimeoutError):
        return False, f"timeout after {format_duration(deadline.seconds)}"
    except (OSError, smtplib.SMTPException) as exc:
        return False, _words(exc)
    return code == 250, f"NOOP answered {code}"


def _open(channel: EmailChannel, deadline: _Deadline) -> smtplib.SMTP:
    """Connected, TLS as the URL says, logged in when it has a user."""
    parts = urlsplit(channel.smtp)
    context = ssl.create_default_context()
    if channel.ca_file is not None:
        context.load_verify_locations(cafile=channel.ca_file)
    host, name = parts.hostname or "", socket.gethostname()  # never getfqdn: a DNS lookup outside the deadline
    smtp: smtplib.SMTP
    if parts.scheme == "smtps":
        smtp = smtplib.SMTP_SSL(host, parts.port or 465, local_hostname=name, timeout=deadline.left(), context=context)
    else:
        smtp = smtplib.SMTP(host, parts.port or 587, local_hostname=name, timeout=deadline.left())
    try:
        deadline.arm(smtp)
        smtp.ehlo()
        if parts.scheme == "smtp" and channel.starttls:
            if not smtp.has_extn("starttls"):
                raise smtplib.SMTPNotSupportedError(
                    "the server does not offer STARTTLS (set starttls only on loopback)"
                )
            deadline.arm(smtp)
            smtp.starttls(context=context)
            deadline.arm(smtp)
            smtp.ehlo()
        if parts.username:
            deadline.arm(smtp)
            smtp.login(unquote(parts.username), channel.password or "")
    except BaseException:
        smtp.close()
        raise
    return smtp


def _mail(channel: EmailChannel, message: Outgoing) -> EmailMessage:
    mail = EmailMessage()
    mail["Subject"] = message.subject
    mail["From"] = channel.from_
    mail["To"] = ", ".join(channel.to)
    mail["Date"] = formatdate(usegmt=True)
    mail["Message-ID"] = f"<{message.incident or 'update'}.{message.seq}.{channel.name}@incident-console>".replace(
        " ", "-"
    )
    mail.set_content(message.text)
    return mail


def _refused(step: str, code: int, reply: bytes | str) -> Attempt:
    words = f"SMTP {code} to {step}: {_text(reply)}"
    return Attempt("queued" if 400 <= code < 500 else "failed", words)


def _text(reply: bytes | str) -> str:
    text = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)
    return " ".join(text.split())[:200]


def _words(exc: BaseException) -> str:
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, ssl.SSLCertVerificationError):
        return f"TLS error: {exc.verify_message or 'certificate verify failed'}"
    if isinstance(exc, socket.gaierror):
        return "DNS lookup failed"
    if isinstance(exc, smtplib.SMTPServerDisconnected):
        return "the server disconnected"
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
