"""How runbook blocks become steps: split where the author meant separate things, each step's line, placeholders,
secrets and variables from the environment (the golden files are in test_runbook_parse.py)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from console.judge.placeholders import find_params, scan, shell_script
from console.runbooks.model import RunbookError, load_runbook, parse_runbook
from console.runbooks.split import split_script
from console.triage.runbook_view import as_playbook
from tests.helpers import cli

ROOT = Path(__file__).parent.parent
FIXTURES = ROOT / "tests" / "fixtures" / "runbooks"


def book(text: str, env: dict[str, str] | None = None):
    return parse_runbook(text, Path("book.md"), "0" * 64, env or {})


# -- splitting ------------------------------------------------------------------------------------


def test_alternatives_phases_and_a_list_of_checks_split_with_stable_ids() -> None:
    steps = load_runbook(FIXTURES / "split.md", {}).steps
    by_id = {s.id: s for s in steps}
    assert [s.command for s in steps if s.split and s.split.block == "restore-1"] == [
        "npm run db:restore:latest",
        "npm run db:restore -- --file=backup-2024-01-15.sql",
    ]
    assert [(s.id, s.title) for s in steps if s.split and s.split.block == "roll-back-1"] == [
        ("roll-back-1", "1. Enable maintenance mode"),
        ("roll-back-1.2", "2. Rollback"),
        ("roll-back-1.3", "3. Disable maintenance mode"),
    ]
    assert by_id["roll-back-3.2"].command == "vim .env.production"
    assert by_id["roll-back-3.3"].command == "./deploy.sh --force"
    assert by_id["migrate-1.2"].command == "npm run migrate:prod"
    assert by_id["check-the-cache-1.2"].title == "Check clients"
    # the blocks after a split one keep the ids they had: a later part does not take a number
    assert [s.id for s in steps if s.section == "Kept whole"] == [f"kept-whole-{n}" for n in range(1, 5)]
    assert all(s.split is None for s in steps if s.section == "Kept whole")


def test_config_text_in_a_shell_block_is_shown_not_run() -> None:
    """A phase that says what to paste into a file (TOML with a table) is not shell: shown, never a write step; a
    line the shell parser cannot read and that is no config stays a write (fail closed)."""
    text = (
        "## Add a replica\n\n```bash\n# 1. Create the database\nwrangler d1 create db-replica\n\n"
        '# 2. Bind it\n# Add to wrangler.toml:\n[[d1_databases]]\nbinding = "DB_READ"\n'
        'database_name = "db-replica"\n```\n\n## Broken\n\n```bash\nif then fi (\n```\n'
    )
    steps = book(text).steps
    assert [(s.id, s.kind, s.runnable) for s in steps if s.section == "Add a replica"] == [
        ("add-a-replica-1", "shell", True),
        ("add-a-replica-1.2", "display", False),
    ]
    assert "[[d1_databases]]" in steps[1].command
    broken = next(s for s in steps if s.section == "Broken")
    assert broken.runnable and "the shell parser cannot read" in broken.risk_reason


@pytest.mark.parametrize(
    "inside",
    [
        'for pod in a b; do\n  # Or inside the loop\n  echo "$pod"\ndone',
        "while true\ndo\n# Or inside\n  break\ndone",
        "cat <<NOTE\n# Or this is text\nNOTE",
        "cat <<-'NOTE'\n\t# Or literal\n\tNOTE",
        "if true; then\n# 1. inside the if\n  echo yes\n# 2. still inside\nfi",
        "case $1 in\n  a)\n# Or in a case\n    echo a ;;\nesac",
        "show() {\n  # Or inside a function\n  echo fn\n}\nshow",
        "function show {\n# Or\n  echo fn\n}",
        "( cd /tmp\n# Or in a subshell\n  ls )",
        'echo "$(date\n# Or inside a substitution\n)"',
        "kubectl get pods |\n  # Or the pipeline goes on\n  grep api",
        "test -f x &&\n# Or\n  echo yes",
        "echo one \\\n# Or\n  two",
        "echo 'a quote\n# Or still quoted\n'",
        'echo "a quote\n# Or still quoted\n"',
    ],
)
def test_a_script_is_never_cut_inside_a_construct(inside: str) -> None:
    parts = split_script(f"# Option A: first\necho before\n# Option B: then\n{inside}\necho after")
    assert [(p.title, p.text) for p in parts] == [
        ("Option A: first", "echo before"),
        ("Option B: then", f"{inside}\necho after"),
    ]


@pytest.mark.parametrize(
    "script",
    [
        "# Stop the app\nsystemctl stop app\n# Start it again\nsystemctl start app",  # annotated, no blank lines
        "# Go to the app\ncd /srv/app\n\n# Pull\ngit pull",
        "# Set up\nexport KUBECONFIG=/etc/k\n\n# Look\nkubectl get pods",
        "# Load\nsource ./env.sh\n# Or\nmake",
        "# Strict\nset -euo pipefail\n# 1. one\necho 1\n# 2. two\necho 2",
        '# Find\nPOD=$(kubectl get pods -o name)\n\n# Option B: logs\nkubectl logs "$POD"',
        "#!/bin/bash\n# Check memory\nfree -m\n\n# Check disk\ndf -h",
        "echo one\n# 1. only one numbered comment\necho two",
        "if true; then\n  echo unbalanced\n# Or\necho x",
    ],
)
def test_a_script_whose_parts_depend_on_each_other_or_that_lists_nothing_stays_whole(script: str) -> None:
    assert [p.text for p in split_script(script)] == [script]


def test_show_names_the_parts_and_run_refuses_the_whole_block(tmp_path: Path) -> None:
    shown = runbook_cli("show", str(FIXTURES / "split.md"))
    assert shown.returncode == 0, shown.stderr
    assert "roll-back-1.2  [shell, destructive]  line 19  Roll back: 2. Rollback" in shown.stdout
    assert "    split: part 2 of 3 of block roll-back-1" in shown.stdout
    assert "roll-back-1.1  [shell, write]  line 17  Roll back: 1. Enable maintenance mode" in shown.stdout
    config = tmp_path / "config.toml"
    config.write_text(f'[console]\nenvironment = "staging"\njournal = "{tmp_path / "journal.jsonl"}"\n')
    whole = runbook_cli("run", "--config", str(config), str(FIXTURES / "split.md"), "roll-back-1", "--yes")
    assert whole.returncode == 2 and whole.stdout == ""
    assert whole.stderr.endswith(
        "split.md: roll-back-1 was split into roll-back-1.1, roll-back-1.2, roll-back-1.3: run one of them\n"
    )
    part = runbook_cli("run", "--config", str(config), str(FIXTURES / "split.md"), "roll-back-1.2", "--dry-run")
    assert part.returncode == 0, part.stderr
    assert "runbook:split:roll-back-1.2 (destructive)" in part.stdout
    assert "vercel rollback" in part.stdout
    assert "vercel env add" not in part.stdout
    assert not (tmp_path / "journal.jsonl").exists()


def test_the_playbook_view_proposes_each_part_by_the_name_that_runs_it() -> None:
    playbook = as_playbook(load_runbook(FIXTURES / "split.md", {}))
    actions = [s.action for s in playbook.steps if s.kind == "action"]
    assert actions[:3] == ["runbook:split:restore-1.1", "runbook:split:restore-1.2", "runbook:split:roll-back-1.1"]
    assert playbook.step("restore-1.2").title == "Restore: Restore from specific backup (line 10)"


# -- lines ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["sessions", "placeholders", "psql", "mixed", "crlf", "tabs", "split", "steps"])
def test_each_step_line_is_the_file_line_of_its_command(name: str) -> None:
    lines = (FIXTURES / f"{name}.md").read_text().replace("\r\n", "\n").split("\n")
    steps = load_runbook(FIXTURES / f"{name}.md", {}).steps
    for step in steps:
        assert lines[step.line - 1].endswith(step.command.split("\n")[0]), step.id
        assert lines[step.fence_line - 1].lstrip().startswith(("```", "~~~")) or step.line == step.fence_line


def test_a_comment_among_dollar_prompts_of_an_untagged_block_is_not_a_command() -> None:
    text = (
        "## Relay\n\n```\n# restart the relay\n$ systemctl restart relay\n# then look\n$ systemctl status relay\n```\n"
    )
    steps = book(text).steps
    assert [(s.command, s.line, s.output_lines) for s in steps] == [
        ("systemctl restart relay", 5, ()),
        ("systemctl status relay", 7, ()),
    ]


# -- placeholders ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("command", "names"),
    [
        ("kubectl logs [worker-name] -n [PROJECT_ID] -l id=[ID]", ["worker_name", "project_id", "id"]),
        ('[[ -f x ]] && [ -f y ] && ls file[0-9].log [a-z]* *.[ch] [x] ${arr[ID]} arr[ID]=1 "${@:2}"', []),
        ("grep '\\[ERROR\\]' app.log; grep '[Ff]ailed' app.log; echo $((a[1] + 2))", []),
        ("curl -H 'Authorization: Bearer YOUR_API_TOKEN' -H 'X-Key: YOUR_KEY' x", ["api_token", "key"]),
        ("curl https://api.your-domain.com/v1/projects/your-project/keys", ["domain", "project"]),
        ("pg_dump app > backup_TIMESTAMP.sql && gzip /backups/YYYYMMDD/db-<timestamp>.sql", ["timestamp", "yyyymmdd"]),
        ("psql -c 'SELECT now()::TIMESTAMP'; BACKUP_TIMESTAMP=1; echo TIMESTAMP", []),
        ("curl -H 'token: xxx' https://x --data key=xxx; mktemp /tmp/run.XXXXXX; echo sk-xxx", ["xxx"]),
    ],
)
def test_placeholders_the_team_writes_are_parameters_and_shell_syntax_is_not(command: str, names: list[str]) -> None:
    assert [p.name for p in find_params(command, {}, shell=True)] == names


def test_a_variable_used_before_the_block_assigns_it_is_a_parameter_there_only() -> None:
    text = 'echo "$DATABASE_URL"\nDATABASE_URL=postgres://x\npsql "$DATABASE_URL"\nfor n in 1; do echo $n; done'
    params = find_params(text, {}, shell=True)
    assert [p.name for p in params] == ["database_url"]
    assert shell_script(text, params) == (
        'echo "${RB_DATABASE_URL}"\nDATABASE_URL=postgres://x\npsql "$DATABASE_URL"\nfor n in 1; do echo $n; done'
    )
    assert find_params("# DATABASE_URL=x is set by hand\necho $DATABASE_URL", {}, shell=True)[0].name == "database_url"


@pytest.mark.parametrize(
    ("placeholder", "secret"),
    [
        ("$NEXTAUTH_SECRET", True),
        ("${GRAFANA_API_KEY}", True),
        ("<api-key>", True),
        ("YOUR_KEY", True),
        ("$DB_PASSWORD", True),
        ("$PGPASSWD", True),
        ("<github-token>", True),
        ("$GCP_CREDENTIALS", True),
        ("$SSH_PRIVATE_KEY", True),
        ("$stripe_key", True),
        ("<namespace>", False),
        ("$MONKEY", False),
        ("$KEYSPACE", False),
        ("$PRIMARY_KEY_COLUMN", False),
    ],
)
def test_placeholders_named_like_secrets_are_secret_parameters(placeholder: str, secret: bool) -> None:
    [param] = find_params(f"echo {placeholder}", {}, shell=True)
    assert param.secret is secret


def test_variables_the_environment_sets_are_listed_and_shown_as_from_it() -> None:
    params, env = scan(
        "echo \"$HOME $NEXTAUTH_SECRET ${HOME}\" '$USER' $PATH", {"HOME": "/root", "PATH": "/bin"}, shell=True
    )
    assert ([p.name for p in params], env) == (["nextauth_secret"], ["HOME", "PATH"])
    text = "# Env\n\n```bash\necho $NEXTAUTH_SECRET $HOME\n```\n"
    [step] = book(text, {"HOME": "/root"}).steps
    assert step.as_json()["secret_params"] == ["nextauth_secret"]
    assert step.as_json()["env_params"] == ["HOME"]
    assert step.as_json()["params"] == ["nextauth_secret"]


def test_show_marks_secret_parameters_and_the_environment(tmp_path: Path) -> None:
    runbook = tmp_path / "env.md"
    runbook.write_text(
        '# Env\n\n```bash\ncurl -H "Authorization: Bearer $GRAFANA_API_KEY" "$GRAFANA_URL" -o $HOME/x\n```\n'
    )
    shown = runbook_cli("show", str(runbook))
    assert "    params: --grafana_api_key (secret, asked without echo), --grafana_url" in shown.stdout
    assert "    from the environment: $HOME" in shown.stdout


def test_secret_parameters_are_never_asked_by_the_playbook_view() -> None:
    text = "# Keys\n\n## Rotate\n\n```bash\ncurl -u admin:$ADMIN_PASSWORD https://<host>/rotate\n```\n"
    playbook = as_playbook(book(text))
    assert [s.id for s in playbook.steps] == ["rotate-1--host", "rotate-1"]
    assert playbook.step("rotate-1").params == {"host": "{host}"}  # the action form asks it, without echo


def test_a_split_block_id_is_refused_by_lookup() -> None:
    runbook = load_runbook(FIXTURES / "split.md", {})
    with pytest.raises(RunbookError, match=r"restore-1 was split into restore-1.1, restore-1.2: run one of them"):
        runbook.step("restore-1")
    assert runbook.step("restore-1.1").command == "npm run db:restore:latest"


def runbook_cli(*argv: str) -> subprocess.CompletedProcess[str]:
    return cli("runbook", *argv)


def test_a_step_starts_at_its_command_and_takes_the_comment_above_as_its_title(tmp_path: Path) -> None:
    path = tmp_path / "book.md"
    path.write_text(
        "# Book\n\n## Acknowledge\n\n```bash\n# Acknowledge in PagerDuty\n\ncurl -s https://x/health\n```\n"
    )
    [step] = load_runbook(path, {}).steps
    assert (step.line, step.fence_line, step.title) == (8, 5, "Acknowledge in PagerDuty")
    assert step.command == "curl -s https://x/health"


def test_an_sql_block_of_separate_commented_statements_splits_and_one_statement_never_does(tmp_path: Path) -> None:
    path = tmp_path / "book.md"
    path.write_text(
        "# Book\n\n## Indexes\n\n```sql\n-- 1. Analyze the plan\nEXPLAIN SELECT * FROM games WHERE date > now();\n\n"
        "-- 2. Create the index\nCREATE INDEX idx_games_date ON games(date);\n\n-- 3. Check it\n"
        "SELECT indexname FROM pg_indexes\n-- the comment inside a statement stays with it\n"
        " WHERE tablename = 'games';\n```\n"
    )
    steps = load_runbook(path, {}).steps
    assert [(s.line, s.title, s.risk.value) for s in steps] == [
        (7, "1. Analyze the plan", "read"),
        (10, "2. Create the index", "destructive"),
        (13, "3. Check it", "read"),
    ]
    assert steps[2].command.endswith("WHERE tablename = 'games';") and steps[2].split.of == 3


# -- SQL for another database ---------------------------------------------------------------------------------

# blaze-cloudflare-workers: D1 (SQLite) SQL, with no word of the database next to it
D1_RUNBOOK = """# Blaze on Workers

**When:** Adding/modifying D1, KV, R2, or Hyperdrive bindings

```bash
wrangler d1 list
```

### Database Query Optimization

```sql
-- 1. Analyze query plan
EXPLAIN QUERY PLAN
SELECT * FROM games WHERE date = '2025-11-08' AND status = 'live';

-- 2. Add missing indexes
CREATE INDEX idx_games_date_status ON games(date, status);
```

### Postgres side

```postgresql
SELECT count(*) FROM pg_stat_activity;
```
"""


def test_sql_for_d1_is_shown_not_run_on_postgresql(tmp_path: Path) -> None:
    """A ```sql block in a runbook about D1 that does not say it is for PostgreSQL is shown with the reason, never a
    step run against `[postgres]`; a fence that names PostgreSQL still runs."""
    steps = book(D1_RUNBOOK).steps
    d1 = [s for s in steps if s.section == "Database Query Optimization"]
    assert [(s.id, s.kind, s.runnable) for s in d1] == [("database-query-optimization-1", "display", False)]
    assert "the runbook names `D1` (line 3)" in d1[0].display_reason
    assert d1[0].as_json()["display_reason"] == d1[0].display_reason
    assert [(s.kind, s.runnable) for s in steps if s.section == "Postgres side"] == [("sql", True)]
    runbook = tmp_path / "blaze.md"
    runbook.write_text(D1_RUNBOOK)
    runbook.chmod(0o600)
    shown = runbook_cli("show", str(runbook)).stdout
    assert "database-query-optimization-1  [display]  line 12" in shown
    assert "    not run: the runbook names `D1` (line 3), a database that is not PostgreSQL" in shown


def test_the_playbook_view_says_why_a_block_is_only_read() -> None:
    read = next(s for s in as_playbook(book(D1_RUNBOOK)).steps if s.id == "database-query-optimization-1")
    assert read.question.startswith("Not run: the runbook names `D1` (line 3)")


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("## Check\n\n```sqlite\nSELECT 1;\n```\n", "a ```sqlite block is not PostgreSQL SQL"),
        ("## Check the D1 database\n\n```sql\nSELECT 1;\n```\n", "the heading names `D1`, not PostgreSQL"),
        ("## Check\n\nRun with `wrangler d1 execute`:\n\n```sql\nSELECT 1;\n```\n", "the text before it names"),
        ("## Check\n\n```sql\nSELECT name FROM sqlite_master;\n```\n", "its SQL names `sqlite_master`"),
    ],
)
def test_the_context_of_an_sql_block_says_which_database(text: str, reason: str) -> None:
    (step,) = book(text).steps
    assert not step.runnable and step.display_reason.startswith(reason)


def test_sql_in_a_runbook_that_names_only_postgresql_still_runs() -> None:
    text = "# DB\n\nThe database is PostgreSQL.\n\n## Check\n\n```sql\nSELECT 1;\n```\n"
    (step,) = book(text).steps
    assert (step.kind, step.runnable, step.display_reason) == ("sql", True, "")


# -- a command that never ends, with commands after it ----------------------------------------------------------

# blaze-production "High Memory Usage" and nextjs-vercel "Debug Commands"
ENDLESS_RUNBOOK = """# Endless

## High Memory Usage

```bash
# Check memory usage
docker stats
npm run memory:profile
```

## Debug Commands

```bash
# Enable debug logging
export DEBUG=*
npm run dev

# Check process health
ps aux | grep node
lsof -i :3000
```

## Logs then cleanup

```bash
cd /srv/app
tail -f log/app.log
rm -rf tmp/cache
```

## One line

```bash
tail -f /var/log/app.log && echo done
```

## Still whole

```bash
docker stats --no-stream
tail -f /var/log/app.log | grep ERROR || echo "no log"
```
"""


def test_commands_after_one_that_never_ends_become_their_own_step_or_are_shown() -> None:
    """Never a step that runs `docker stats` (or `npm run dev`, `tail -f`) and then commands it never reaches: the
    rest is a step of its own when it stands alone, else shown with the reason (`cd` before a `rm` is never lost)."""
    steps = {s.ref: s for s in book(ENDLESS_RUNBOOK).steps}
    memory = [s for s in steps.values() if s.section == "High Memory Usage"]
    assert [(s.ref, s.command, s.mode, s.runnable) for s in memory] == [
        ("high-memory-usage-1.1", "docker stats", "interactive", True),
        ("high-memory-usage-1.2", "npm run memory:profile", "run", True),
    ]
    assert (memory[0].line, memory[1].line) == (7, 8)
    debug = [s for s in steps.values() if s.section == "Debug Commands"]
    assert [(s.command, s.runnable) for s in debug] == [
        ("export DEBUG=*\nnpm run dev", True),
        ("# Check process health\nps aux | grep node\nlsof -i :3000", False),
    ]
    assert debug[1].display_reason.startswith("comes after `npm run dev`, which never ends on its own")
    logs = [s for s in steps.values() if s.section == "Logs then cleanup"]
    assert [(s.command, s.kind, s.mode if s.runnable else None) for s in logs] == [
        ("cd /srv/app\ntail -f log/app.log", "shell", "follow"),
        ("rm -rf tmp/cache", "display", None),
    ]
    (line,) = [s for s in steps.values() if s.section == "One line"]
    assert not line.runnable and "`tail -f /var/log/app.log` never ends on its own" in line.display_reason
    (whole,) = [s for s in steps.values() if s.section == "Still whole"]
    assert whole.runnable and whole.split is None


def test_show_says_why_the_commands_after_an_endless_one_are_not_run(tmp_path: Path) -> None:
    runbook = tmp_path / "endless.md"
    runbook.write_text(ENDLESS_RUNBOOK)
    runbook.chmod(0o600)
    shown = runbook_cli("show", str(runbook)).stdout
    assert "high-memory-usage-1.2  [shell, write]  line 8  High Memory Usage" in shown
    assert "    split: part 2 of 2 of block high-memory-usage-1" in shown
    assert "    not run: comes after `npm run dev`, which never ends on its own, so it would never run" in shown


# -- a loop that never ends, what `timeout` bounds, and each step's mode in `runbook show` -------------------------

LOOPS_RUNBOOK = """# Loops

## Watch the pods

```bash
while true; do
  kubectl get pods
  sleep 5
done
kubectl describe pod api
```

## Wait for health

```bash
while true; do curl -fsS localhost:3000/health && break; sleep 1; done
echo up
```

## Tail a while

```bash
timeout 60 tail -f /var/log/app.log || true
grep -c ERROR /var/log/app.log
```

## Edit

```bash
vim .env
```

## Output

```console
NAME   READY
api-0  1/1
```
"""
LOOP_REASON = "`while true` loops with nothing in it that leaves the loop (`break`, `exit`, `return`): it never ends"
BOUNDED_REASON = "`timeout 60 tail -f /var/log/app.log` follows its output; `timeout` ends it after 1m 00s"


def test_a_loop_that_never_ends_cuts_the_step_and_a_bounded_one_does_not() -> None:
    steps = book(LOOPS_RUNBOOK).steps
    assert [(s.ref, s.command, s.kind, s.mode, s.mode_reason) for s in steps] == [
        ("watch-the-pods-1.1", "while true; do\n  kubectl get pods\n  sleep 5\ndone", "shell", "follow", LOOP_REASON),
        ("watch-the-pods-1.2", "kubectl describe pod api", "shell", "run", ""),
        (
            "wait-for-health-1",
            "while true; do curl -fsS localhost:3000/health && break; sleep 1; done\necho up",
            "shell",
            "run",
            "",
        ),
        (
            "tail-a-while-1",
            "timeout 60 tail -f /var/log/app.log || true\ngrep -c ERROR /var/log/app.log",
            "shell",
            "follow",
            BOUNDED_REASON,
        ),
        ("edit-1", "vim .env", "shell", "interactive", "`vim .env` is interactive: it needs the terminal"),
        ("output-1", "NAME   READY\napi-0  1/1", "display", "run", ""),
    ]
    assert [s.line for s in steps[:2]] == [6, 10]


def test_show_says_each_steps_mode_in_text_as_in_json(tmp_path: Path) -> None:
    runbook = tmp_path / "loops.md"
    runbook.write_text(LOOPS_RUNBOOK)
    runbook.chmod(0o600)
    shown = runbook_cli("show", str(runbook)).stdout.split("\n\n")[1:]
    modes = [next(line for line in step.splitlines() if line.startswith("    mode: ")) for step in shown]
    assert modes == [
        f"    mode: follow: {LOOP_REASON}",
        "    mode: run",
        "    mode: run",
        f"    mode: follow: {BOUNDED_REASON}",
        "    mode: interactive: `vim .env` is interactive: it needs the terminal",
        "    mode: shown, not run",
    ]
    steps = json.loads(runbook_cli("show", str(runbook), "--json").stdout)["steps"]
    assert [(s["mode"], s["mode_reason"]) for s in steps] == [
        ("follow", LOOP_REASON),
        ("run", ""),
        ("run", ""),
        ("follow", BOUNDED_REASON),
        ("interactive", "`vim .env` is interactive: it needs the terminal"),
        (None, None),
    ]
