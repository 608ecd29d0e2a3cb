"""The channels headless, as real processes: `incident update --post CHANNEL --yes` queues when the channel is down
and exits 0 saying so, `incident outbox` shows what waits and `--send` delivers it (a cron job), a refusal for good
exits 1, read-only refuses the post; `check` reaches every channel without posting where the service allows it; no
credential reaches the journal or any output."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from channel_world import Mailbox, channels_toml, smtp_server

from console.demo.servers.channels import ChannelServer, Fault
from tests.helpers import cli, config_file

PRODUCTION = '[console]\nenvironment = "production"\n'  # how channels_toml begins


@pytest.fixture
def server() -> Iterator[ChannelServer]:
    with ChannelServer() as running:
        yield running


def channels_config(tmp_path: Path, toml: str) -> Path:
    """channels_toml's channels in the helpers' config file (its `[console]`: the journal in tmp_path/state)."""
    return config_file(tmp_path / "ic", toml.removeprefix(PRODUCTION), environment="production")


def incident(config: Path, *argv: str) -> tuple[int, str, str]:
    done = cli("incident", *argv, "--config", config)
    return done.returncode, done.stdout, done.stderr


def secrets(server: ChannelServer) -> list[str]:
    c = server.credentials
    return [c.slack_hook, c.slack_token, c.teams_hook, c.statuspage_token, c.pagerduty_key, c.opsgenie_key]


def test_a_post_to_a_channel_that_is_down_is_queued_exit_0_and_a_cron_send_delivers_it(
    tmp_path: Path, server: ChannelServer
) -> None:
    config = channels_config(tmp_path, channels_toml(server, timeout="2s"))
    assert incident(config, "declare", "--title", "checkout returns 500s", "--severity", "SEV-2")[0] == 0
    server.down()
    code, out, err = incident(config, "update", "--post", "chat,status", "--yes", "--field", "eta=30 minutes")
    assert (code, err) == (0, ""), err
    assert "chat: queued (connection refused)" in out and "incident outbox --send" in out
    assert "── customers ──" in out and "ETA: 30 minutes" in out  # the preview, per audience
    code, out, _ = incident(config, "outbox")
    assert code == 0 and "update to chat: queued after 1 attempt" in out and "update to status: queued" in out
    code, out, _ = incident(config, "outbox", "--json")
    assert [(i["channel"], i["status"]) for i in json.loads(out)] == [("chat", "queued"), ("status", "queued")]
    server.up()
    delivered: list[str] = []
    deadline = time.monotonic() + 20
    while len(delivered) < 2 and time.monotonic() < deadline:  # a cron job every few seconds
        code, out, _ = incident(config, "outbox", "--send")
        assert code == 0, out
        delivered += [line for line in out.splitlines() if line.endswith("delivered: HTTP 200")]
        delivered += [line for line in out.splitlines() if line.endswith("delivered: HTTP 201")]
        time.sleep(1)  # a sleep by design: the pace of the cron job that sends the outbox
    assert sorted(line.split()[3] for line in delivered) == ["chat:", "status:"]
    assert len([r for r in server.received if r.service == "slack"]) == 1 and len(server.state.incidents) == 1
    code, out, _ = incident(config, "outbox")
    assert out.count(": delivered after") == 2
    text = (tmp_path / "state" / "journal.jsonl").read_text() + out
    assert not [secret for secret in secrets(server) if secret in text]


def test_send_delivers_what_is_due_and_a_refusal_for_good_exits_1(tmp_path: Path, server: ChannelServer) -> None:
    config = channels_config(tmp_path, channels_toml(server, timeout="2s"))
    incident(config, "declare", "--title", "checkout returns 500s", "--severity", "SEV-2")
    server.fail("/teams", Fault(401))
    code, out, _ = incident(config, "update", "--post", "chat", "team", "--yes")
    assert code == 1 and "team: failed (HTTP 401: refused the credentials" in out and "chat: delivered" in out
    code, out, _ = incident(config, "outbox", "--send")
    assert (code, out.strip()) == (0, "nothing was due")
    code, _, err = incident(config, "update", "--post", "chat", "--yes", "--read-only")
    assert code == 2 and "refused, the console is read-only" in err
    code, _, err = incident(config, "outbox", "--send", "--read-only")
    assert code == 2 and err.startswith("incident-console: --read-only:")
    code, _, err = incident(config, "update", "--post", "oncall", "--yes")
    assert code == 2 and "'oncall' is not a posting channel (chat, team, hook, status)" in err


def test_check_reaches_each_channel_without_posting_where_the_service_allows_it(
    tmp_path: Path, server: ChannelServer
) -> None:
    mailbox = Mailbox()
    smtp = smtp_server(mailbox)
    smtp.start()
    try:
        config = channels_config(tmp_path, channels_toml(server, smtp=f"smtp://127.0.0.1:{smtp.port}"))
        done = cli("check", "--config", config)
    finally:
        smtp.stop()
    lines = {line.split()[2]: line for line in done.stdout.splitlines() if line[:4].strip() in ("ok", "--", "FAIL")}
    assert lines["chat"].startswith("ok") and "auth.test ok" in lines["chat"]
    assert lines["team"].startswith("--") and "cannot be reached without posting" in lines["team"]
    assert lines["hook"].startswith("--")
    assert all(lines[name].startswith("ok") for name in ("status", "oncall", "genie", "mail")), done.stdout
    assert "NOOP answered 250" in lines["mail"] and not mailbox.messages
    assert done.returncode == 0 and "(2 not checked: they cannot be reached without posting)" in done.stdout
    assert [r.service for r in server.received if r.method == "POST"] == ["slack"]  # auth.test, nothing posted
    assert not [secret for secret in secrets(server) if secret in done.stdout + done.stderr]
