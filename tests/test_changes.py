"""The change ledger's sources, suspects and headless command, against real parts: a git repository made here (its
`v*` tags the deploys), a loopback HTTP server answering in the shapes of GitHub's deployments and Vercel's
deployments API, executable scripts printing what `wrangler deployments list --json` and `kubectl get rs -o json`
print, and the CLI as a process."""

from __future__ import annotations

import json
import os
import re
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from console import config as cfg
from console.changes.ledger import Ledger, config_readers, reach
from console.changes.model import ChangeLedger
from console.changes.suspects import against
from console.clock import Clock, ManualClock
from console.http import HttpClient
from console.live import LiveState
from console.models import Check, State
from console.models.incident import IncidentFacts
from tests.helpers import cli, config_file
from tests.http_server import LoopbackHTTPServer

NOW = datetime.now(UTC).replace(microsecond=0)


def at(minutes: float) -> datetime:
    """`minutes` before NOW."""
    return NOW - timedelta(minutes=minutes)


def git(repo: Path, *argv: str, when: datetime | None = None, who: str = "dev") -> None:
    moment = f"{int((when or NOW).timestamp())} +0000"
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": who,
        "GIT_AUTHOR_EMAIL": f"{who}@example.com",
        "GIT_COMMITTER_NAME": who,
        "GIT_COMMITTER_EMAIL": f"{who}@example.com",
        "GIT_AUTHOR_DATE": moment,
        "GIT_COMMITTER_DATE": moment,
    }
    subprocess.run(["git", "-C", str(repo), *argv], check=True, capture_output=True, env=env)


def make_repo(folder: Path) -> Path:
    """Three commits: v1.2.2 tagged 3 h ago, v1.2.3 tagged 12 min ago (annotated, by ci), one untagged 2 min ago."""
    repo = folder / "api"
    repo.mkdir()
    subprocess.run(["git", "init", "-q", "-b", "main", str(repo)], check=True)
    git(repo, "commit", "--allow-empty", "-m", "Release v1.2.2", when=at(180))
    git(repo, "tag", "v1.2.2", when=at(180))
    git(repo, "commit", "--allow-empty", "-m", "Faster checkout", when=at(12), who="ci")
    git(repo, "tag", "-a", "v1.2.3", "-m", "v1.2.3: faster checkout", when=at(12), who="ci")
    git(repo, "commit", "--allow-empty", "-m", "Docs only", when=at(2))
    git(repo, "tag", "not-a-release", when=at(2))
    return repo


class Failing:
    """A model whose one check is in `state` (what a health probe gives the live state)."""

    def __init__(self, name: str, state: State) -> None:
        self.name, self.state = name, state

    @property
    def feed_key(self) -> str:
        return f"health:{self.name}"

    def checks(self) -> list[Check]:
        return [Check(source="health", name=self.name, state=self.state)]


def failing_since(moment: datetime, name: str = "api", state: State = State.CRIT) -> LiveState:
    clock = ManualClock(moment)
    live = LiveState(clock)
    live.update([Failing(name, state)])
    clock.set(NOW)
    return live


def load(text: str, folder: Path) -> cfg.Config:
    return cfg.loads(text, source=folder / "config.toml", environ={"DEPLOY_TOKEN": "s3cr3t-deploy-token"})


async def read(config: cfg.Config, live: LiveState | None = None) -> ChangeLedger:
    """One read of the configured sources (no built-in ones, no journal: test_changes_builtin has those)."""
    client = HttpClient()
    try:
        return await Ledger(config_readers(config, client), Clock(), refresh=2.0, live=live).poll()
    finally:
        await client.aclose()


# -- git -------------------------------------------------------------------------------------------------------------


async def test_git_lists_commits_and_its_release_tags_as_deploys_newest_first(tmp_path: Path) -> None:
    make_repo(tmp_path)
    config = load(
        '[[changes]]\nname = "api repo"\nkind = "git"\nrepo = "api"\ntags = "v*"\nservice = "api"\n', tmp_path
    )
    ledger = await read(config)
    assert ledger.errors == ()
    assert [(c.version, c.kind, c.when) for c in ledger.changes] == [
        (ledger.changes[0].id[:12], "deploy", at(2)),  # the untagged commit: its own short hash
        ("v1.2.3", "deploy", at(12)),
        ("v1.2.2", "deploy", at(180)),
    ]
    tag = ledger.changes[1]
    assert (tag.id, tag.summary, tag.author, tag.service, tag.live_known) == (
        "tag:v1.2.3",
        "v1.2.3: faster checkout",
        "ci@example.com",
        "api",
        False,
    )
    assert len(ledger.changes) == 3, "a tagged commit is listed once, as its tag; not-a-release is not a release"


async def test_git_never_writes_to_the_clone(tmp_path: Path) -> None:
    repo = make_repo(tmp_path)
    before = sorted((p.relative_to(repo), p.stat().st_mtime_ns) for p in (repo / ".git").rglob("*"))
    await read(load('[[changes]]\nname = "r"\nkind = "git"\nrepo = "api"\ntags = "v*"\n', tmp_path))
    assert sorted((p.relative_to(repo), p.stat().st_mtime_ns) for p in (repo / ".git").rglob("*")) == before


async def test_a_missing_repository_is_the_sources_error_and_check_says_so(tmp_path: Path) -> None:
    config = load('[[changes]]\nname = "gone"\nkind = "git"\nrepo = "nowhere"\n', tmp_path)
    ledger = await read(config)
    assert ledger.changes == ()
    assert ledger.errors == (("gone", f"{tmp_path / 'nowhere'} is not a git repository (repo: a local clone)"),)
    [reached] = [await job for job in reach(config)]
    assert (reached.kind, reached.name, reached.ok) == ("changes", "gone", False)
    assert "is not a git repository" in reached.detail


# -- http ------------------------------------------------------------------------------------------------------------

GITHUB = [  # GET /repos/{owner}/{repo}/deployments
    {
        "url": "https://api.github.com/repos/acme/api/deployments/2",
        "id": 2,
        "sha": "a1b2c3",
        "ref": "v1.2.3",
        "environment": "production",
        "description": "Deploy v1.2.3",
        "creator": {"login": "ci-bot"},
        "created_at": at(5).isoformat().replace("+00:00", "Z"),
    },
    {
        "url": "https://api.github.com/repos/acme/api/deployments/1",
        "id": 1,
        "sha": "9f8e7d",
        "ref": "v1.2.2",
        "environment": "production",
        "description": "Deploy v1.2.2",
        "creator": {"login": "ci-bot"},
        "created_at": at(26 * 60).isoformat().replace("+00:00", "Z"),
    },
]
VERCEL = {  # GET /v6/deployments
    "deployments": [
        {
            "uid": "dpl_building",
            "url": "web-3.vercel.app",
            "created": int(at(1).timestamp() * 1000),
            "state": "BUILDING",
            "creator": {"username": "ana"},
            "meta": {"githubCommitMessage": "New banner", "githubCommitSha": "c3"},
        },
        {
            "uid": "dpl_ready",
            "url": "web-2.vercel.app",
            "created": int(at(9).timestamp() * 1000),
            "ready": int(at(8).timestamp() * 1000),
            "state": "READY",
            "creator": {"username": "ana"},
            "meta": {"githubCommitMessage": "Cache headers", "githubCommitSha": "b2"},
        },
    ]
}
HTTP_SOURCES = """
[[changes]]
name = "github"
kind = "http"
url = "{url}/repos/acme/api/deployments"
headers = {{ Authorization = "Bearer ${{DEPLOY_TOKEN}}" }}
service = "api"
[changes.map]
id = "to_string(id)"
time = "created_at"
version = "ref"
summary = "description"
author = "creator.login"
url = "url"

[[changes]]
name = "vercel"
kind = "http"
url = "{url}/v6/deployments"
items = "deployments"
service = "web"
[changes.map]
id = "uid"
time = "created"
live_at = "ready"
version = "meta.githubCommitSha"
summary = "meta.githubCommitMessage"
author = "creator.username"
url = "url"
"""


async def test_http_maps_github_deployments_and_vercel_with_the_probes_headers_and_secrets(
    tmp_path: Path, http_server: LoopbackHTTPServer
) -> None:
    http_server.route(
        "/repos/acme/api/deployments", body=GITHUB, require_headers={"Authorization": "Bearer s3cr3t-deploy-token"}
    )
    http_server.route("/v6/deployments", body=VERCEL)
    config = load(HTTP_SOURCES.format(url=http_server.url("").rstrip("/")), tmp_path)
    ledger = await read(config, failing_since(at(3), "api"))
    assert ledger.errors == ()
    assert [(c.source, c.id, c.version) for c in ledger.changes] == [
        ("vercel", "dpl_building", "c3"),
        ("github", "2", "v1.2.3"),
        ("vercel", "dpl_ready", "b2"),
        ("github", "1", "v1.2.2"),
    ]
    building = ledger.changes[0]
    assert building.live_known and building.live_at is None and ledger.suspect(building) is None
    top = ledger.top()
    assert top is not None and (top.source, top.version) == ("github", "v1.2.3")
    assert ledger.previous(top) is not None and ledger.previous(top).version == "v1.2.2"  # type: ignore[union-attr]


async def test_an_http_source_down_or_answering_nonsense_is_named_and_the_others_still_read(
    tmp_path: Path, http_server: LoopbackHTTPServer
) -> None:
    http_server.route("/repos/acme/api/deployments", status=500, body="oops")
    http_server.route("/v6/deployments", body="<html>\x1b[31mnot json</html>")
    config = load(HTTP_SOURCES.format(url=http_server.url("").rstrip("/")), tmp_path)
    ledger = await read(config)
    assert ledger.changes == ()
    errors = dict(ledger.errors)
    assert errors["github"] == "HTTP 500"
    assert errors["vercel"].startswith("the answer is not JSON")
    assert "\x1b" not in errors["vercel"]
    http_server.route("/v6/deployments", body=VERCEL)
    http_server.route("/repos/acme/api/deployments", body=GITHUB, require_headers={"Authorization": "wrong"})
    ledger = await read(config)
    assert [c.source for c in ledger.changes] == ["vercel", "vercel"]
    assert dict(ledger.errors) == {"github": "HTTP 401"}


# -- command ---------------------------------------------------------------------------------------------------------

WRANGLER = [
    {
        "id": "0f1e-deploy",
        "source": "wrangler",
        "created_on": at(4).isoformat(),
        "author_email": "ops@example.com",
        "annotations": {"workers/message": "bump worker", "workers/triggered_by": "upload"},
    }
]
KUBECTL = {
    "kind": "List",
    "items": [
        {
            "metadata": {
                "name": "api-7d9f",
                "creationTimestamp": at(30).isoformat().replace("+00:00", "Z"),
                "annotations": {"deployment.kubernetes.io/revision": "7"},
            },
            "spec": {"template": {"spec": {"containers": [{"image": "registry/api:v7"}]}}},
        }
    ],
}


def script(folder: Path, name: str, document: Any, *, code: int = 0) -> Path:
    path = folder / name
    path.write_text(f"#!/bin/sh\ncat <<'EOF'\n{json.dumps(document)}\nEOF\nexit {code}\n")
    path.chmod(0o700)
    return path


async def test_commands_printing_wrangler_and_kubectl_json_are_mapped(tmp_path: Path) -> None:
    script(tmp_path, "wrangler", WRANGLER)
    script(tmp_path, "kubectl", KUBECTL)
    config = load(
        """
[[changes]]
name = "workers"
kind = "command"
command = ["./wrangler", "deployments", "list", "--json"]
items = "@"
map = { id = "id", time = "created_on", summary = 'annotations."workers/message"', author = "author_email" }

[[changes]]
name = "rollouts"
kind = "command"
command = ["./kubectl", "get", "rs", "-o", "json"]
items = "items"
change_kind = "infra"
[changes.map]
id = "metadata.name"
time = "metadata.creationTimestamp"
version = 'metadata.annotations."deployment.kubernetes.io/revision"'
summary = "spec.template.spec.containers[0].image"
""",
        tmp_path,
    )
    ledger = await read(config)
    assert ledger.errors == ()
    assert [(c.source, c.id, c.kind, c.version, c.summary, c.author) for c in ledger.changes] == [
        ("workers", "0f1e-deploy", "deploy", None, "bump worker", "ops@example.com"),
        ("rollouts", "api-7d9f", "infra", "7", "registry/api:v7", None),
    ]


async def test_a_command_that_fails_or_hangs_is_named_with_why(tmp_path: Path) -> None:
    script(tmp_path, "broken", WRANGLER, code=3)
    (tmp_path / "hangs").write_text("#!/bin/sh\nsleep 30\n")
    (tmp_path / "hangs").chmod(0o700)
    config = load(
        '[[changes]]\nname = "a"\nkind = "command"\ncommand = ["./broken"]\nmap = { id = "id", time = "created_on" }\n'
        '[[changes]]\nname = "b"\nkind = "command"\ncommand = ["./hangs"]\ntimeout = "300ms"\n'
        'map = { id = "id", time = "created_on" }\n',
        tmp_path,
    )
    ledger = await read(config)
    assert dict(ledger.errors) == {
        "a": f"{tmp_path / 'broken'} exited 3",
        "b": f"{tmp_path / 'hangs'} timed out after 300ms",
    }


# -- suspects --------------------------------------------------------------------------------------------------------


async def test_suspects_are_ranked_against_the_first_failing_check_with_their_reasons(tmp_path: Path) -> None:
    make_repo(tmp_path)
    config = load(
        '[[changes]]\nname = "api repo"\nkind = "git"\nrepo = "api"\ntags = "v*"\nservice = "api"\n', tmp_path
    )
    ledger = await read(config, failing_since(at(10), "api"))
    assert ledger.onset == at(10) and ledger.onset_words == "the first CRIT (health api)"
    ranked = [(c.version, s.rank) for c, s in ledger.ranked()]
    assert ranked == [("v1.2.3", 1), ("v1.2.2", 2)], "the commit after the onset is never a suspect"
    top = ledger.ranked()[0][1]
    assert top.reason == (
        "v1.2.3 was made 2m 00s before the first CRIT (health api) (not known when it went live), on api, a deploy, "
        "by ci@example.com"
    )
    assert 0 < ledger.ranked()[1][1].score < top.score <= 1
    assert "no longer live at the onset (v1.2.3 replaced it)" in ledger.ranked()[1][1].reason


def test_the_incidents_onset_wins_over_the_checks_and_a_service_not_failing_weighs_less(tmp_path: Path) -> None:
    live = failing_since(at(1), "web")
    base = ChangeLedger(
        changes=tuple(
            sorted(
                (
                    _change("a", "deploy", at(20), "api"),
                    _change("b", "config", at(25), "web"),
                ),
                key=lambda c: c.when,
                reverse=True,
            )
        )
    )
    assert {c.id for c, _ in against(base, live).ranked()} == {"a", "b"}
    assert [c.id for c, _ in against(base, live).ranked()] == ["b", "a"], "web is failing, api is not"
    live.incident = IncidentFacts("INC-1", at(5), "investigating", "SEV-2", "sev", onset=at(22))
    ledger = against(base, live)
    assert ledger.onset == at(22) and ledger.onset_words == "the onset of INC-1"
    assert [c.id for c, _ in ledger.ranked()] == ["b"], "a change after the onset is never a suspect"
    assert against(base, LiveState(ManualClock(NOW))).suspects == {}, "nothing failing, nothing open: no suspects"


def _change(ident: str, kind: str, when: datetime, service: str) -> Any:
    from console.changes.model import Change

    return Change(ident, "src", kind, when, when, service, ident, live_known=True)


# -- config and CLI --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "said"),
    [
        ('name = "a:b"\nkind = "git"\nrepo = "."', "changes[0].name: 'a:b' holds ':'"),
        ('name = "a"\nkind = "svn"\nrepo = "."', "changes[0]: 'kind' must be 'git', 'http', 'command', got 'svn'"),
        (
            'name = "a"\nkind = "http"\nurl = "http://x"\nitems = "a[?"\nmap = { id = "id", time = "t" }',
            "changes[0].items: items 'a[?' is not a JMESPath expression",
        ),
        ('name = "a"\nkind = "http"\nurl = "http://x"\nmap = { id = "id" }', "changes[0].map: map needs time"),
        (
            'name = "a"\nkind = "http"\nurl = "http://x"\nmap = { id = "id", time = "t", when = "w" }',
            "changes[0].map: unknown field 'when'",
        ),
        (
            'name = "a"\nkind = "command"\ncommand = []\nmap = { id = "id", time = "t" }',
            "changes[0].command: command must name a program",
        ),
    ],
)
def test_a_mistake_in_changes_is_one_line_naming_the_field_and_exit_2(tmp_path: Path, body: str, said: str) -> None:
    path = config_file(tmp_path / "etc", f"[[changes]]\n{body}\n")
    for argv in (["changes"], ["check"]):
        done = cli(*argv, "--config", path)
        assert done.returncode == 2, done.stderr
        assert said in done.stderr, done.stderr
        assert len(done.stderr.strip().splitlines()) == 1 and "Traceback" not in done.stderr


def test_changes_json_exit_codes_and_shape(tmp_path: Path, http_server: LoopbackHTTPServer) -> None:
    http_server.route("/repos/acme/api/deployments", body=GITHUB)
    http_server.route("/v6/deployments", status=503)
    body = HTTP_SOURCES.format(url=http_server.url("").rstrip("/")).replace(
        'headers = { Authorization = "Bearer ${DEPLOY_TOKEN}" }\n', ""
    )
    path = config_file(tmp_path / "etc", body)
    done = cli("changes", "--json", "--config", path)
    assert done.returncode == 0, done.stderr
    document = json.loads(done.stdout)
    assert document["onset"] is None
    assert document["errors"] == [{"source": "vercel", "reason": "HTTP 503"}]
    assert [c["version"] for c in document["changes"]] == ["v1.2.3"], "v1.2.2 is older than the default 24h"
    assert set(document["changes"][0]) == {
        "id",
        "source",
        "kind",
        "time",
        "live_at",
        "service",
        "version",
        "summary",
        "author",
        "url",
        "suspect",
    }
    assert document["changes"][0]["time"].endswith("Z") and document["changes"][0]["suspect"] is None
    assert [
        c["version"] for c in json.loads(cli("changes", "--json", "--since", "30h", "--config", path).stdout)["changes"]
    ] == [
        "v1.2.3",
        "v1.2.2",
    ]
    journal = tmp_path / "state" / "journal.jsonl"
    declared = cli(
        "incident", "declare", "--title", "api 500s", "--started", "3m", "--config", path, "--journal", journal
    )
    assert declared.returncode == 0, declared.stderr
    done = cli("changes", "--json", "--config", path)
    assert done.returncode == 1, done.stderr
    suspect = json.loads(done.stdout)["changes"][0]["suspect"]
    assert suspect["rank"] == 1 and 0 < suspect["score"] <= 1
    # the commit was made 2m before the test began: more on a busy machine, whose CLI calls take their time
    assert re.match(r"v1\.2\.3 was made \d+m \d\ds before the onset of INC-", suspect["reason"]), suspect["reason"]
    assert suspect["reason"].endswith("(not known when it went live), on api, a deploy, by ci-bot")
    text = cli("changes", "--config", path)
    assert text.returncode == 1 and "#1" in text.stdout and "error: vercel: HTTP 503" in text.stdout
    bad = cli("changes", "--since", "yesterday-ish", "--config", path)
    assert bad.returncode == 2 and "--since" in bad.stderr and "Traceback" not in bad.stderr


def test_a_check_failing_since_before_a_deploy_does_not_clear_the_deploy_of_a_service_that_fails_after_it() -> None:
    """The demo with PostgreSQL: its lock contention is WARN from the start; v1.2.3 goes out, then the api fails."""
    clock = ManualClock(at(30))
    live = LiveState(clock)
    live.update([Failing("postgres blocked", State.WARN)])
    clock.set(at(2))
    live.update([Failing("postgres blocked", State.WARN), Failing("api", State.CRIT)])
    ledger = against(ChangeLedger((_change("v1.2.3", "deploy", at(5), "api"),)), live)
    assert ledger.onset == at(30), "the onset is still the first check to go bad"
    [(_, suspect)] = ledger.ranked()
    assert suspect.reason.startswith("v1.2.3 went live 3m 00s before the first CRIT (health api), on api")


def test_hostile_text_from_a_source_reaches_the_cli_escaped(tmp_path: Path) -> None:
    hostile = [{"id": "x\x1b]52;c;cHduZWQ=\x07", "created_on": at(1).isoformat(), "msg": "\x1b[2J[red]boom[/]\r\nfake"}]
    path = config_file(tmp_path / "etc", "")
    script(path.parent, "deploys", hostile)
    path.write_text(
        path.read_text()
        + '[[changes]]\nname = "d"\nkind = "command"\ncommand = ["./deploys"]\n'
        + 'map = { id = "id", time = "created_on", summary = "msg" }\n'
    )
    for argv in (["changes"], ["changes", "--json"]):
        done = cli(*argv, "--config", path)
        assert done.returncode == 0, done.stderr
        assert "\x1b" not in done.stdout and "\x07" not in done.stdout and "\r" not in done.stdout
    assert json.loads(cli("changes", "--json", "--config", path).stdout)["changes"][0]["summary"].startswith("\x1b[2J")


def test_check_names_every_mistake_in_changes_one_line_each(tmp_path: Path) -> None:
    path = config_file(
        tmp_path / "etc",
        '[[changes]]\nname = "a:b"\nkind = "git"\nrepo = "."\n[[changes]]\nname = "x"\nkind = "svn"\n'
        '[[changes]]\nname = "y"\nkind = "http"\nurl = "http://127.0.0.1:9"\nitems = "a[?"\n'
        'map = { id = "id", time = "t" }\n',
    )
    done = cli("check", "--config", path)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert [line.split(": ")[3] for line in lines] == ["changes[0].name", "changes[1]", "changes[2].items"]
    status = cli("status", "--config", path)
    assert status.returncode == 2 and status.stderr.strip().endswith("(and 2 more)"), "elsewhere: the first"


def test_triage_conditions_and_params_read_the_ledgers_top_suspect() -> None:
    from console.triage.conditions import ConditionError, Truth, evaluate, parse, problems
    from console.triage.resolve import ResolveError, resolve_params

    live = failing_since(at(3), "api")
    params = {"version": "{changes.previous.version}", "bad": "{changes.suspect.version}"}
    assert evaluate('changes.suspect.kind == "deploy"', live).value is Truth.UNKNOWN  # nothing read yet
    with pytest.raises(ResolveError, match="no change source has been read yet"):
        resolve_params(params, {}, live)
    changes = (_change("v1.2.3", "deploy", at(5), "api"), _change("v1.2.2", "deploy", at(300), "api"))
    live.update([against(ChangeLedger(changes), live)])
    assert evaluate("changes.suspects > 0", live).value is Truth.PASS
    assert evaluate('changes.suspect.kind == "deploy"', live).value is Truth.PASS
    result = evaluate("changes.suspect.kind == config", live)
    assert result.value is Truth.FAIL and result.evidence == ("the top suspect v1.2.3's kind is deploy",)
    assert resolve_params(params, {}, live) == {"version": "v1.2.2", "bad": "v1.2.3"}
    assert problems('changes.suspect.kind == "deplyo"', {}) == [
        "unknown change kind 'deplyo' (kinds: deploy, config, flag, migration, infra, action)"
    ]
    with pytest.raises(ConditionError, match=r"unknown field of changes\.suspect 'colour'"):
        parse("changes.suspect.colour == red")
    live.update([against(ChangeLedger(changes[1:]), LiveState(ManualClock(NOW)))])  # nothing failing: no suspect
    assert evaluate('changes.suspect.kind == "deploy"', live).value is Truth.FAIL
    with pytest.raises(ResolveError, match="no change is a suspect"):
        resolve_params(params, {}, live)
