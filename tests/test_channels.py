"""Channels against loopback servers that behave like the services (console/demo/servers/channels.py, aiosmtpd):
each kind delivers as its service expects, and the outbox queues what may pass (429 with Retry-After, 5xx, the
network), waits out a channel's `min_interval` between two sends, fails what will not (401), never resends what may
have arrived (a hang after the request was read), holds what it queued across a restart, sends each channel's
messages once and in order after it was down, and never lets two senders send the same message."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from email import message_from_bytes
from email.policy import default
from pathlib import Path

import pytest
from channel_world import Mailbox, channels_toml, smtp_server, world
from scripted_server import serving
from test_journal_horizon import bytes_read

from benchmarks.big_journal import BulkWriter
from console.channels.outbox import Outbox
from console.clock import ManualClock
from console.demo.servers.channels import HANG_AFTER_READ, HANG_BEFORE_READ, ChannelServer, Fault


@pytest.fixture
def server() -> Iterator[ChannelServer]:
    with ChannelServer() as running:
        yield running


def texts(server: ChannelServer, service: str) -> list[str]:
    bodies = [r.body for r in server.received if r.service == service and r.method != "GET"]
    return [str(b.get("text") if isinstance(b, dict) else b) for b in bodies]


async def test_each_kind_delivers_as_its_service_expects(server: ChannelServer, tmp_path: Path) -> None:
    mailbox = Mailbox()
    smtp = smtp_server(mailbox)
    smtp.start()
    try:
        w = world(tmp_path, channels_toml(server, smtp=f"smtp://127.0.0.1:{smtp.port}"))
        first = w.post(["chat", "team", "hook", "status", "mail"], details="We are on it.")
        sent = await w.send()
        w.clock.advance(60)
        w.desk.set_status("mitigated")
        second = w.post(["status"], details="Rolled back.")
        sent += await w.send()
    finally:
        smtp.stop()
    assert {(s.item.seq, s.item.channel, s.attempt.status) for s in sent} == {
        (first["seq"], name, "delivered") for name in ("chat", "team", "hook", "status", "mail")
    } | {(second["seq"], "status", "delivered")}
    slack = texts(server, "slack")[0]
    assert "api-1.internal.example" in slack and "anchor: seq" in slack  # internal: the update as journaled
    hook = next(r for r in server.received if r.service == "hook")
    assert hook.body["incident"] == w.desk.state().id and "[host]" in hook.body["content"]  # stakeholders
    assert hook.body["content"].endswith(slack.rpartition("\n")[2]) and hook.headers["x-hook-secret"]
    team = next(r for r in server.received if r.service == "teams").body
    assert team["attachments"][0]["content"]["body"][0]["text"].startswith("🚨 INCIDENT ALERT - SEV-1")
    # Statuspage: the first update opens an incident, the next edits the same one; customers read no internals
    (incident,) = server.state.incidents.values()
    assert incident["status"] == "monitoring" and incident["components"] == {"cmp-api": "degraded_performance"}
    assert incident["name"] == "checkout returns 500s on [host]" and len(incident["updates"]) == 2
    for body in incident["updates"]:
        assert "[host]" in body and "api-1" not in body and "anchor:" not in body and "Root cause" not in body
    (mail,) = mailbox.messages
    read = message_from_bytes(mail.content, policy=default)
    assert mail.rcpt_tos == ["cto@example.com", "support@example.com"]
    assert read["Subject"] == f"Incident Alert: checkout returns 500s on [host] ({w.desk.state().id})"
    body = read.get_content()
    assert "api-1.internal" not in body and "anchor: seq" in body and "We are on it." in body


async def test_a_page_is_triggered_acknowledged_and_resolved_with_the_incident(
    server: ChannelServer, tmp_path: Path
) -> None:
    from console.channels.paging import request_page

    w = world(tmp_path, channels_toml(server))
    incident = w.desk.state().id
    request_page(w.journal, incident, ["oncall", "genie"], f"SEV-1 {incident}: checkout", "SEV-1", 0)
    await w.send()
    assert sorted(server.state.pages[incident]["events"]) == ["create", "trigger"]  # one dedup key for both
    server.acknowledge(incident, "alice")
    w.clock.advance(31)
    await w.send()
    acks = [e["data"] for e in w.journal.entries() if e["kind"] == "page.acknowledged"]
    assert {(a["channel"], a["by"]) for a in acks} == {("oncall", "alice"), ("genie", "alice")}
    w.desk.set_status("resolved")
    await w.send()
    await w.send()  # nothing more: one resolve per channel
    assert sorted(server.state.pages[incident]["events"]) == ["close", "create", "resolve", "trigger"]
    assert [k for k in w.kinds() if k[0] == "page.requested"] == [("page.requested", None)] * 2


async def test_429_waits_its_retry_after_and_5xx_backs_off_then_both_are_delivered_once(
    server: ChannelServer, tmp_path: Path
) -> None:
    w = world(tmp_path, channels_toml(server))
    server.fail("/slack", Fault(429, retry_after=30))
    server.fail("/statuspage", Fault(503), Fault(502))
    w.post(["chat", "status"])
    first = {s.item.channel: s.attempt for s in await w.send()}
    assert (first["chat"].status, first["chat"].retry_after) == ("queued", 30.0)
    assert first["status"].status == "queued" and first["status"].reason.startswith("HTTP 503")
    w.clock.advance(4)  # the backoff's first wait has passed, not Retry-After's
    assert [(s.item.channel, s.attempt.status) for s in await w.send()] == [("status", "queued")]
    w.clock.advance(8)
    assert [(s.item.channel, s.attempt.status) for s in await w.send()] == [("status", "delivered")]
    w.clock.advance(18)
    assert [(s.item.channel, s.attempt.status) for s in await w.send()] == [("chat", "delivered")]
    assert len(texts(server, "slack")) == 2 and len(server.state.incidents) == 1
    retry = [
        e["data"] for e in w.journal.entries() if e["kind"] == "update.delivery" and e["data"]["channel"] == "chat"
    ]
    assert [d["status"] for d in retry] == ["sending", "queued", "sending", "delivered"]
    assert retry[1]["retry_at"] == "2026-03-02T09:00:30.000Z" and retry[1]["http_status"] == 429


async def test_a_second_post_within_min_interval_waits_in_the_outbox_then_is_delivered(
    server: ChannelServer, tmp_path: Path
) -> None:
    w = world(tmp_path, channels_toml(server, interval="60s"))
    w.post(["chat"], details="update-one")
    assert [s.attempt.status for s in await w.send()] == ["delivered"]
    w.clock.advance(10)
    second = w.post(["chat"], details="update-two")
    assert await w.send() == []  # 50 s of the interval left: more than a pass waits, so it is not sent now
    (waiting,) = w.outbox.items()
    assert (waiting.seq, waiting.status, waiting.attempts) == (second["seq"], "new", 0)
    assert len(texts(server, "slack")) == 1 and not [
        e for e in w.journal.entries() if e["kind"] == "update.delivery" and e["corr"] == second["seq"]
    ]
    w.clock.advance(50)  # the interval has passed
    assert [(s.item.seq, s.attempt.status) for s in await w.send()] == [(second["seq"], "delivered")]
    assert [("update-one" in t, "update-two" in t) for t in texts(server, "slack")] == [(True, False), (False, True)]
    assert w.outbox.items() == []


async def test_two_posts_due_together_are_sent_min_interval_apart_in_one_pass(
    server: ChannelServer, tmp_path: Path
) -> None:
    w = world(tmp_path, channels_toml(server, interval="2s"))
    w.post(["chat"], details="update-one")
    w.post(["chat"], details="update-two")
    started = time.monotonic()
    sent = await w.send()
    assert time.monotonic() - started > 1.9  # it waited out the interval between the two (within WAIT_FOR_INTERVAL)
    assert [s.attempt.status for s in sent] == ["delivered", "delivered"]
    assert [("update-one" in t, "update-two" in t) for t in texts(server, "slack")] == [(True, False), (False, True)]

async def test_a_revoked_credential_fails_for_good_and_is_not_sent_again(server: ChannelServer, tmp_path: Path) -> None:
    w = world(tmp_path, channels_toml(server))
    server.fail("/teams", Fault(401))
    w.post(["team"])
    (failed,) = await w.send()
    assert failed.attempt.status == "failed" and "refused the credentials" in failed.attempt.reason
    w.clock.advance(3600)
    assert await w.send() == [] and w.outbox.items() == []  # settled: nothing open


async def test_a_hang_costs_the_timeout_and_after_the_request_was_read_is_unknown_never_resent(
    server: ChannelServer, tmp_path: Path
) -> None:
    w = world(tmp_path, channels_toml(server, timeout="1s"))
    server.fail("/slack", Fault(hang=HANG_AFTER_READ))
    w.post(["chat", "hook"])
    started = time.monotonic()
    sent = {s.item.channel: s.attempt for s in await w.send()}
    assert time.monotonic() - started < 1.8  # the hung channel cost its timeout; the other went meanwhile
    assert sent["hook"].status == "delivered"
    assert sent["chat"].status == "unknown" and "once the request had been sent" in sent["chat"].reason
    w.clock.advance(3600)
    assert await w.send() == [] and len(texts(server, "slack")) == 1


async def test_a_tls_server_that_never_reads_is_queued_the_request_never_left(
    tmp_path: Path, certificate: tuple[Path, Path]
) -> None:
    with ChannelServer(tls=serving(certificate)) as server:
        toml = channels_toml(server, timeout="1s").replace(
            'name = "chat"', f'name = "chat"\nca_file = "{certificate[1]}"'
        )
        w = world(tmp_path, toml)
        server.fail("", Fault(hang=HANG_BEFORE_READ))
        w.post(["chat"])
        (queued,) = await w.send()
        assert (queued.attempt.status, queued.attempt.reason) == ("queued", "timeout after 1s")
        w.clock.advance(4)
        (delivered,) = await w.send()
        assert delivered.attempt.status == "delivered" and len(texts(server, "slack")) == 1


async def test_a_channel_down_for_a_minute_gets_each_update_once_in_order(
    server: ChannelServer, tmp_path: Path
) -> None:
    w = world(tmp_path, channels_toml(server))
    server.down()
    for n in range(3):
        w.clock.advance(10)
        w.post(["chat"], details=f"update {n}")
        await w.send()
    queued = w.outbox.items()
    assert [(i.status, i.attempts) for i in queued] == [("queued", 3), ("new", 0), ("new", 0)]  # held behind the first
    w.clock.advance(60)
    server.up()
    sent = await w.send()
    assert [s.attempt.status for s in sent] == ["delivered"] * 3
    assert [t.rpartition("update ")[2].partition("\n")[0] for t in texts(server, "slack")] == ["0", "1", "2"]
    assert w.outbox.items() == []


async def test_a_restarted_console_sends_what_was_queued_and_a_claim_left_by_a_dead_sender_is_unknown(
    server: ChannelServer, tmp_path: Path
) -> None:
    w = world(tmp_path, channels_toml(server))
    server.down()
    first = w.post(["chat"])
    await w.send()
    w.outbox.release()  # the console stops
    second = w.post(["hook"])
    w.journal.append("update.delivery", {"channel": "hook", "status": "sending", "attempt": 1}, corr=second["seq"])
    server.up()
    w.clock.advance(10)
    restarted = Outbox(w.journal, w.config, w.clock.now)
    sent = {(s.item.seq, s.item.channel): s.attempt.status for s in await restarted.send_due() or []}
    assert sent == {(first["seq"], "chat"): "delivered", (second["seq"], "hook"): "unknown"}
    assert [r.service for r in server.received] == ["slack"]  # the claimed one is not sent again


async def test_two_senders_on_one_journal_send_once(server: ChannelServer, tmp_path: Path) -> None:
    w = world(tmp_path, channels_toml(server))
    w.post(["chat", "status"])
    other = Outbox(w.journal, w.config, w.clock.now)  # another console, or a cron job
    results = await asyncio.gather(w.outbox.send_due(), other.send_due())
    assert sorted(r is None for r in results) == [False, True]
    loser = w.outbox if results[0] is None else other  # whichever took the lock first sends
    assert loser.holder is not None and loser.holder.startswith("pid ")
    assert len(texts(server, "slack")) == 1 and len(server.state.incidents) == 1


async def test_smtp_4xx_is_queued_5xx_failed_and_no_answer_after_the_message_unknown(tmp_path: Path) -> None:
    mailbox = Mailbox(reply="451 4.3.0 try again later")
    smtp = smtp_server(mailbox, password="mail-password")
    smtp.start()
    try:
        with ChannelServer() as server:
            url = f"smtp://ic:mail-password@127.0.0.1:{smtp.port}"
            w = world(tmp_path, channels_toml(server, timeout="1s", smtp=url))
            w.post(["mail"])
            assert [s.attempt.status for s in await w.send()] == ["queued"]
            mailbox.reply, mailbox.hang = None, True
            w.clock.advance(5)
            started = time.monotonic()
            (unknown,) = await w.send()
            assert unknown.attempt.status == "unknown" and time.monotonic() - started < 1.8
            mailbox.hang, mailbox.reply = False, "550 5.1.1 no such user"
            w.post(["mail"])
            (failed,) = await w.send()
            assert (failed.attempt.status, failed.attempt.reason) == (
                "failed",
                "SMTP 550 to the message: 5.1.1 no such user",
            )
            assert "mail-password" not in w.journal.path.read_text()
    finally:
        if mailbox.release is not None:
            smtp.loop.call_soon_threadsafe(mailbox.release.set)
        smtp.stop()


async def test_the_demo_posts_to_its_loopback_chat_and_status_page(tmp_path: Path) -> None:
    """The demo's config names its chat and status page (console/demo/run.py), so triage's update step ends with a
    real post: here the same post-update its `u` runs."""
    from actions.registry import build_runner
    from console.config import loads
    from console.demo.run import demo_config
    from console.incident.commands import IncidentDesk
    from console.journal import Journal

    with ChannelServer() as server:
        config = loads(demo_config("http://127.0.0.1:9", tmp_path, channels_url=server.url), source=tmp_path / "c.toml")
        runner = build_runner(config, journal=Journal(tmp_path / "journal.jsonl", environment="demo"))
        IncidentDesk(runner.journal).declare("The API's error rate is high", "SEV-2")
        plan = await runner.plan("post-update", {"channels": "chat,status-page"})
        assert list(plan.panels) == ["internal", "customers"]
        outcome = await runner.execute(plan, confirmed=True)
    assert outcome.ok and outcome.message.endswith("chat delivered, status-page delivered")
    (incident,) = server.state.incidents.values()
    assert incident["components"] == {"demo-api": "partial_outage"} and incident["status"] == "investigating"


async def test_a_message_queued_before_the_horizon_is_found_from_the_checkpoint_without_reading_the_journal(
    server: ChannelServer, tmp_path: Path
) -> None:
    """The outbox is a reader of the journal's past: a message queued 20,000 entries ago (checkpoints carry it) is
    sent by a console that starts now, which reads a small part of the file."""
    w = world(tmp_path, channels_toml(server))
    server.down()
    queued = w.post(["chat"])
    await w.send()
    w.outbox.release()
    with BulkWriter(w.journal.path, ManualClock(w.clock.now())) as writer:
        writer.routine(20_000)
    server.up()
    w.clock.advance(60)
    before = bytes_read()
    restarted = Outbox(w.journal, w.config, w.clock.now)
    await asyncio.to_thread(restarted.catch_up)
    read = bytes_read() - before
    assert [(i.seq, i.status) for i in restarted.items()] == [(queued["seq"], "queued")]
    assert read < w.journal.path.stat().st_size / 2  # the walk back to the last checkpoint (5,000 lines) and on
    sent = await restarted.send_due()
    assert [(s.item.seq, s.attempt.status) for s in sent or []] == [(queued["seq"], "delivered")]
