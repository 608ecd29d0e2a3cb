"""Shell steps judged by tree-sitter-bash with the values in place: hostile shell, what real runbooks run, and the
values bash would turn into options, arithmetic or code."""

from __future__ import annotations

import inspect
import sys

import pytest

from console.judge.placeholders import find_params, shell_script
from console.judge.shell import ShellJudgement, judge_shell
from console.judge.sql import judge_sql
from console.models import Risk

READ, WRITE, DESTRUCTIVE = Risk.READ, Risk.WRITE, Risk.DESTRUCTIVE
HOSTILE_VALUE = "a[$(touch pwned)]"


def judge(template: str, **values: str) -> ShellJudgement:
    """The judgement of a runbook command as it will run: placeholders rewritten by params.shell_script, then the
    values given (none: the template, as `runbook show` judges it)."""
    params = find_params(template, {}, shell=True)
    env = {p.env: values[p.name] for p in params} if values else None
    return judge_shell(shell_script(template, params), env)


# Every one of these passed as "read" with the regular expressions that judged shell before.
HOLES = [
    ("echo hi &>out.log", WRITE, "run"),
    ("echo hi 1>out.log", WRITE, "run"),
    ("ls 2>errors.log", WRITE, "run"),
    ("echo hi >|out.log", WRITE, "run"),
    ("ls >& out.log", WRITE, "run"),
    ("cat <(touch x)", WRITE, "run"),
    ("cat <(rm -rf /tmp/x)", DESTRUCTIVE, "run"),
    ("ls > >(tee copy)", WRITE, "run"),
    ("awk 'BEGIN{system(\"touch x\")}'", WRITE, "run"),
    ("awk '{print $1 > \"/tmp/x\"}' f", WRITE, "run"),
    ("awk '{print | \"sh\"}' f", WRITE, "run"),
    ("awk '{\"date\" | getline d}' f", WRITE, "run"),
    ("gawk -i inplace '{print}' f", WRITE, "run"),
    ("sort -o out.txt in.txt", WRITE, "run"),
    ("sort --out=out.txt in.txt", WRITE, "run"),
    ("curl --json '{}' https://x/api", WRITE, "run"),
    ("curl -o page.html https://x", WRITE, "run"),
    ("curl -O https://x/file", WRITE, "run"),
    ("curl -D headers.txt https://x", WRITE, "run"),
    ("wget https://x/file", WRITE, "run"),
    ("watch ls", READ, "interactive"),
    ("watch 'rm -f /tmp/x'", DESTRUCTIVE, "interactive"),
    ("date -s '2020-01-01 00:00'", WRITE, "run"),
    ("date --set=tomorrow", WRITE, "run"),
    ("date 010100002000", WRITE, "run"),
    ("hostname evil", WRITE, "run"),
    ("hostname -F /etc/x", WRITE, "run"),
    ("journalctl --vacuum-size=1G", WRITE, "run"),
    ("journalctl --vac=1G", WRITE, "run"),
    ("journalctl --rotate", WRITE, "run"),
    ("ss -K dst 10.0.0.1", DESTRUCTIVE, "run"),
    ("ss -tnK", DESTRUCTIVE, "run"),
    ("tee out.txt", WRITE, "run"),
    ("sed -i 's/a/b/' f", WRITE, "run"),
    ("sed 's/a/b/w out.txt' f", WRITE, "run"),
    ("sed '1e touch x' f", WRITE, "run"),
    ("find . -fprint out.txt", WRITE, "run"),
    ("find . -name '*.tmp' -delete", DESTRUCTIVE, "run"),
    ("find . -exec rm {} \\;", DESTRUCTIVE, "run"),
    ("find . -exec chmod 600 {} +", WRITE, "run"),
    ("git commit -am x", WRITE, "run"),
    ("git stash", WRITE, "run"),
    ("git branch hotfix", WRITE, "run"),
    ("git push -f origin main", DESTRUCTIVE, "run"),
    ("git reset --hard HEAD~1", DESTRUCTIVE, "run"),
    ("git clean -fdx", DESTRUCTIVE, "run"),
    ("git log --output=log.txt", WRITE, "run"),
    ("$CMD --version", WRITE, "run"),
    ('eval "$CMD"', WRITE, "run"),
    ('bash -c "$SCRIPT"', WRITE, "run"),
    ("sh -c 'rm -rf /tmp/x'", DESTRUCTIVE, "run"),
    ("ssh db-1 'rm -rf /tmp/x'", DESTRUCTIVE, "run"),
    ("su -c 'kill 1'", DESTRUCTIVE, "run"),
    ("sudo rm -rf /tmp/x", DESTRUCTIVE, "run"),
    ("timeout 5 sh -c 'touch x'", WRITE, "run"),
    ("ls | xargs sort", WRITE, "run"),
    ("x=$(rm -f y)", DESTRUCTIVE, "run"),
    ('echo "$(touch x)"', WRITE, "run"),
    ("echo `touch x`", WRITE, "run"),
    ("f() { touch x; }; f", WRITE, "run"),
    ("if true; then touch x; fi", WRITE, "run"),
    ("case a in a) touch x;; esac", WRITE, "run"),
    ("for i in 1; do touch x; done", WRITE, "run"),
    ("while false; do touch x; done", WRITE, "run"),
    ("cat <<EOF | sh\nrm -rf /tmp/x\nEOF", WRITE, "run"),
    ("cat <<'EOF' > notes.txt\nhello\nEOF", WRITE, "run"),
    ("exec > log.txt", WRITE, "run"),
    ("source ./env.sh", WRITE, "run"),
    (". ./env.sh", WRITE, "run"),
    ('echo "unterminated', WRITE, "run"),
    ("iptables -F", DESTRUCTIVE, "run"),
    ("ip6tables -D INPUT 1", DESTRUCTIVE, "run"),
    ("redis-cli -u x flushall", DESTRUCTIVE, "run"),
    ("redis-cli del session:1", DESTRUCTIVE, "run"),
    ("redis-cli set k v", WRITE, "run"),
    ("dmesg -c", WRITE, "run"),
    ("yq -i '.a = 1' f.yml", WRITE, "run"),
    ("uniq in.txt out.txt", WRITE, "run"),
    ("python", WRITE, "interactive"),
    ("python fix.py", WRITE, "run"),
    ("npm run reset-db", DESTRUCTIVE, "run"),
    ("kubectl edit deploy/api", WRITE, "interactive"),
    ("kubectl rollout undo deploy/api", DESTRUCTIVE, "run"),
]

# What real runbooks run (incident and deploy runbooks of Node services on Docker, Kubernetes, Vercel, Cloudflare).
ORDINARY = [
    ('curl -f https://x/api/health || echo "SYSTEM DOWN"', READ, "run"),
    ("docker-compose -f docker-compose.prod.yml ps", READ, "run"),
    ("docker-compose -f f.yml logs --tail=100 app-blue app-green", READ, "run"),
    ('redis-cli -u "$REDIS_URL" ping', READ, "run"),
    ('redis-cli -u "$REDIS_URL" info memory', READ, "run"),
    ("./scripts/rollback.sh --environment production --emergency", DESTRUCTIVE, "run"),
    ("docker-compose -f f.yml up -d --scale app-blue=3", WRITE, "run"),
    ("watch -n 30 'curl -s https://x/api/health | jq .'", READ, "interactive"),
    ('docker-compose -f f.yml logs app-blue | grep "authentication failed"', READ, "run"),
    (
        "echo | openssl s_client -servername x.com -connect x.com:443 2>/dev/null | openssl x509 -noout -dates",
        READ,
        "run",
    ),
    ("docker-compose -f f.yml logs nginx | awk '{print $1}' | sort | uniq -c | sort -nr | head -20", READ, "run"),
    ("iptables -A INPUT -s 1.2.3.4 -j DROP", WRITE, "run"),
    ('redis-cli -u "$REDIS_URL" keys "session:*" | wc -l', READ, "run"),
    ('pg_restore -d "$DATABASE_URL" backup.dump', DESTRUCTIVE, "run"),
    ('gunzip -c backup.sql.gz | psql "$DATABASE_URL"', DESTRUCTIVE, "run"),
    ("npm run db:restore:latest", DESTRUCTIVE, "run"),
    ("npx prisma migrate reset --force", DESTRUCTIVE, "run"),
    ("npx prisma migrate status", READ, "run"),
    ("npx prisma studio", WRITE, "interactive"),
    ("npm run dev", WRITE, "interactive"),
    ("vim .env.production", WRITE, "interactive"),
    ("wrangler tail", READ, "follow"),
    ("wrangler tail --format json", READ, "follow"),
    ("vercel logs https://x.vercel.app --follow", READ, "follow"),
    ("vercel rollback", DESTRUCTIVE, "run"),
    ("wrangler rollback", DESTRUCTIVE, "run"),
    ("wrangler deployments list", READ, "run"),
    ("kubectl logs -f deploy/api", READ, "follow"),
    ("tail -f /var/log/app.log", READ, "follow"),
    ("curl -s http://prometheus:9090/api/v1/targets | jq '.data.activeTargets[]'", READ, "run"),
    (
        "curl -X POST http://alertmanager:9093/api/v1/silences -H \"Content-Type: application/json\" -d '{...}'",
        WRITE,
        "run",
    ),
    (
        "for i in {1..5}; do docker-compose -f f.yml exec app-blue-$i curl -f http://localhost:3000/api/health; done",
        READ,
        "interactive",  # compose exec asks for a terminal unless -T: with none it fails (not a TTY)
    ),
    ("docker compose exec -T app curl -f http://localhost:3000/api/health", READ, "run"),
    ("npx prisma migrate dev", DESTRUCTIVE, "interactive"),
    ("npx prisma migrate deploy", DESTRUCTIVE, "run"),
    ("git log --oneline -10", READ, "run"),
    ("git tag -a v1.0.0 -m x", WRITE, "run"),
    ("git push origin v1.0.0", WRITE, "run"),
    ("ls -la backups/database_production_*", READ, "run"),
    ("node --inspect dist/server.js", WRITE, "interactive"),
    ("npm run build", WRITE, "run"),
    ("du -sh .next", READ, "run"),
    ("ps aux | grep node", READ, "run"),
    ("lsof -i :3000", READ, "run"),
    ("kill -9 $(lsof -t -i:3000)", DESTRUCTIVE, "run"),
    # and the everyday reads around them
    ("kubectl -n ingest get pods -l app=worker -o wide", READ, "run"),
    ("kubectl get pods -w", READ, "follow"),
    ("kubectl exec api-1 -- cat /etc/hosts", READ, "run"),
    ("kubectl exec -it api-1 -- sh", WRITE, "interactive"),
    ("docker exec -it api bash", WRITE, "interactive"),
    ("docker stats --no-stream", READ, "run"),
    ("docker stats", READ, "interactive"),
    ("helm -n api history api", READ, "run"),
    ("systemctl status api --no-pager", READ, "run"),
    ('journalctl -u api --since "10 min ago" -n 100', READ, "run"),
    ("redis-cli -n 2 --scan --pattern 'tenant:*' | head", READ, "run"),
    ("redis-cli monitor", READ, "follow"),
    ("redis-cli", WRITE, "interactive"),
    ('psql "$DATABASE_URL"', WRITE, "interactive"),
    ("sudo -u postgres psql -l", READ, "run"),
    ("awk '$3 > 100 {print $1}' access.log", READ, "run"),
    ("awk -F: '/error|warn/ {n++} END {print n}' app.log", READ, "run"),
    ("sed -n '1,5p' app.log", READ, "run"),
    ("find /var/log -name '*.gz' -mtime +7 -print", READ, "run"),
    ('curl -sS -H "Authorization: Bearer $TOKEN" https://x/v1/stats', READ, "run"),
    ("wget -qO- https://x/health", READ, "run"),
    ("dig +short api.x.com", READ, "run"),
    ("ping -c 3 api.x.com", READ, "run"),
    ("ping api.x.com", READ, "follow"),
    ("top -bn1 | head -20", READ, "run"),
    ("top", READ, "interactive"),
    ("git branch -a", READ, "run"),
    ("git tag -l 'v1.*'", READ, "run"),
    ("git remote -v", READ, "run"),
    ("ssh bastion uptime", READ, "run"),
    ("ssh bastion", WRITE, "interactive"),
    ("time curl -s https://x", READ, "run"),
    ("timeout 5 curl -s https://x", READ, "run"),
    ("ls | xargs grep -l error", READ, "run"),
    ("date -u +%Y-%m-%dT%H:%M:%SZ", READ, "run"),
    ("hostname -f", READ, "run"),
    ('set -euo pipefail\nexport NS=ingest\ncd /srv && ls\necho "done: $NS" >&2', READ, "run"),
    ("cat <<EOF\n$(date) all good\nEOF", READ, "run"),
    ("echo hi > /dev/null 2>&1", READ, "run"),
    # taught by the audit of five real runbooks
    ("iostat -x 1 5", READ, "run"),
    ("nc -zv database-host 5432", READ, "run"),
    ("nc database-host 5432", WRITE, "run"),
    ("npm audit", READ, "run"),
    ("npm audit fix", WRITE, "run"),
    ("pg_restore --list backup_latest.dump | wc -l", READ, "run"),
    ("pg_restore -d app --list backup.dump", DESTRUCTIVE, "run"),
    ("docker-compose -f f.yml stop nginx", DESTRUCTIVE, "run"),
    ("docker compose down", DESTRUCTIVE, "run"),
    ("systemctl stop app", DESTRUCTIVE, "run"),
    ("git revert HEAD", WRITE, "interactive"),
    ("git revert --no-edit HEAD", WRITE, "run"),
    ("vercel env add MAINTENANCE_MODE true", WRITE, "interactive"),
    ("vercel env rm MAINTENANCE_MODE", DESTRUCTIVE, "interactive"),
    ("vercel env rm MAINTENANCE_MODE --yes", DESTRUCTIVE, "run"),
    ("wrangler secret put NEW_API_KEY --env production", WRITE, "interactive"),
    ("wrangler d1 list", READ, "run"),
    ("wrangler d1 backup list blaze-db", READ, "run"),
    ('wrangler d1 backup create blaze-db --name "pre-restore-1"', WRITE, "run"),
    ('wrangler d1 execute blaze-db --command "SELECT name FROM sqlite_master"', READ, "run"),
    ('wrangler d1 execute blaze-db --command "VACUUM"', WRITE, "run"),  # judged as PostgreSQL's plain VACUUM
    ("wrangler d1 execute blaze-db --file=migrations/0001.sql", DESTRUCTIVE, "run"),
    ("wrangler d1 execute blaze-db --local --file=migrations/0001.sql", WRITE, "run"),
    ("wrangler kv:key list --namespace-id abc", READ, "run"),
    ("npx prisma migrate deploy", DESTRUCTIVE, "run"),
    ("npm run prisma:migrate:deploy", DESTRUCTIVE, "run"),
    ("npm run prisma:migrate:status", WRITE, "run"),
    ("npm run cache:clear", DESTRUCTIVE, "run"),
    ("npm run prisma:studio", WRITE, "interactive"),
    # a package script named like a command the table knows is judged as that command too (blaze-production)
    ("npm run prisma:migrate:dev --name migration_name", DESTRUCTIVE, "interactive"),
    ("pnpm prisma:migrate:dev", DESTRUCTIVE, "interactive"),
    ("yarn run docker:stats", WRITE, "interactive"),
    ("npm run db:studio", WRITE, "interactive"),
    ("npm run logs:tail", WRITE, "run"),  # `logs` is no command of the table: the script's own judgement
    ("npm run health:check", WRITE, "run"),  # an unknown script is never a read
    ("curl -X POST https://x/api/admin/cache-clear", DESTRUCTIVE, "run"),
    ("curl -X POST https://x/api/admin/force-logout-all", DESTRUCTIVE, "run"),
    ("curl -X POST https://x/api/admin/cache-warm", WRITE, "run"),
]


@pytest.mark.parametrize(("command", "risk", "mode"), HOLES + ORDINARY)
def test_every_command_in_the_tree_is_judged(command: str, risk: Risk, mode: str) -> None:
    judged = judge_shell(command)
    assert (judged.risk, judged.mode) == (risk, mode), judged.reason
    assert judged.refused is None


@pytest.mark.parametrize(
    ("command", "reason"),
    [
        ("sort -o out x", "write: `sort -o out x` writes a file"),
        ("kubectl delete pod api-1", "destructive: `kubectl delete pod api-1` deletes"),
        ("ls -la && date -s now", "write: `date -s now` sets the clock"),
        ("kubectl get pods && ./deploy.sh", "write: `./deploy.sh` is not a known reading command"),
        ('echo "oops', "write: the shell parser cannot read line 1: judged as writing"),
        (
            "redis-cli keys 'x:*'",
            "read: only reading commands; `redis-cli keys` blocks Redis while it walks every key (--scan does not)",
        ),
    ],
)
def test_the_reason_names_the_worst_command(command: str, reason: str) -> None:
    assert judge_shell(command).reason == reason


def test_an_interactive_or_following_step_says_which_command_and_why() -> None:
    assert judge_shell("ls\nvim .env").mode_reason == "`vim .env` is interactive: it needs the terminal"
    assert judge_shell("tail -F app.log | grep x").mode_reason == "`tail -F app.log` follows: it never ends"
    assert judge_shell("watch -n 5 ls").mode == "interactive"


@pytest.mark.parametrize("sql", ["SELECT 1;", "ANALYZE;"])
def test_psql_c_is_judged_by_the_sql_judge(sql: str) -> None:
    judged = judge_shell(f'psql "$DATABASE_URL" -c "{sql}"')
    assert judged.risk is judge_sql(sql)[0]


def test_psql_meta_commands_and_files() -> None:
    assert judge_shell("psql -c '\\dt'").risk is READ
    assert judge_shell("psql -c '\\! touch x'").risk is WRITE
    assert judge_shell("psql -f restore.sql").risk is DESTRUCTIVE
    assert judge_shell("psql < dump.sql").risk is DESTRUCTIVE
    assert judge_shell("psql -o out.txt -c 'SELECT 1'").risk is WRITE


# -- values in place ------------------------------------------------------------------------------------------------


def test_a_value_that_would_be_an_option_is_refused() -> None:
    refused = judge("find <dir> -name '*.tmp' -print", dir="-delete").refused
    assert refused == (
        "`--dir` is `-delete`: a value that starts with `-` would be read as an option by find; put the "
        "placeholder after `--` in the script, or give another value"
    )
    assert judge("find <dir> -name '*.tmp' -print", dir="/srv/tmp") == judge("find /srv/tmp -name '*.tmp' -print")
    assert judge("kubectl get pod <pod>", pod="--all-namespaces").refused
    assert judge("grep -- <pattern> app.log", pattern="-v").refused is None


def test_the_template_is_judged_with_the_values_standing_where_they_will() -> None:
    template = "kubectl <verb> pods -l app=api"
    assert judge(template).risk is WRITE  # the subcommand is a value: not known to read
    assert judge(template, verb="get").risk is READ
    assert judge(template, verb="delete").risk is DESTRUCTIVE
    assert judge(template, verb="delete").reason == "destructive: `kubectl delete pods -l app=api` deletes"
    assert judge("<tool> status api", tool="systemctl").risk is READ
    assert judge("<tool> status api", tool="rm").risk is DESTRUCTIVE
    assert judge("curl -X <method> https://x", method="GET").risk is READ
    assert judge("curl -X <method> https://x", method="DELETE").risk is WRITE


def test_values_are_followed_through_the_script_s_own_variables() -> None:
    assert judge('d=<dir>; find "$d" -print', dir="-delete").refused
    refused = judge("d=<dir>; ls $d", dir="a b").refused
    assert refused and "`$d` is not quoted, so bash splits and globs it" in refused
    assert judge("d=<dir>; ls $d", dir="/srv").refused is None


@pytest.mark.parametrize(
    "template",
    [
        "echo $(( <n> + 1 ))",
        "echo $[<n>]",
        "(( m = <n> ))",
        '[[ "${a[0]}" -eq <n> ]]',
        'echo "${x:<n>:2}"',
        'echo "${a[<n>]}"',
        "let m=<n>+1",
        "f() { local -i m=<n>; }",
        "declare -i m; m=<n>",
        "m=<n>; echo $(( m + 1 ))",
        "for ((i=0; i<<n>; i++)); do :; done",
    ],
)
def test_a_value_bash_evaluates_as_arithmetic_must_be_a_whole_number(template: str) -> None:
    for hostile in (HOSTILE_VALUE, "$(touch pwned)", "x"):
        refused = judge(template, n=hostile).refused
        assert refused and "bash evaluates it as arithmetic" in refused, (template, hostile)
    for number in ("41", "-3"):
        assert judge(template, n=number).refused is None


def test_a_script_the_parser_cannot_read_refuses_every_value() -> None:
    """`${x:<off>}` becomes `${x:"${RB_OFF}"}`, which tree-sitter-bash cannot read: fail closed."""
    assert judge("echo ${x:<off>}").risk is WRITE
    assert "the shell parser cannot read line 1" in (judge("echo ${x:<off>}", off="$(touch pwned)").refused or "")


@pytest.mark.parametrize(
    ("template", "program"),
    [
        ("eval echo <x>", "eval"),
        ('bash -c "ls <x>"', "bash"),
        ("sh -c 'ls <x>'", "sh"),
        ('su -c "ls <x>"', "su"),
        ('ssh db-1 "ls <x>"', "ssh"),
        ('docker compose exec app sh -c "ls <x>"', "sh"),
        ('kubectl exec api-1 -- sh -c "ls <x>"', "sh"),
        ('watch "ls <x>"', "watch"),
        ('xargs sh -c "ls <x>"', "sh"),
    ],
)
def test_a_value_a_program_re_parses_as_shell_must_be_a_plain_word(template: str, program: str) -> None:
    for hostile in ("a; rm -rf /", "$(touch pwned)", "a b"):
        refused = judge(template, x=hostile).refused
        assert refused and f"`{program}` re-parses it as shell code" in refused, (template, hostile)
    assert judge(template, x="-la").refused  # an option to the program (eval) or to the command it runs
    plain = judge(template, x="api-1.log")
    assert plain.refused is None and plain.reparsed == {"RB_X": program}


def test_a_re_parsed_value_is_judged_as_it_will_run() -> None:
    assert judge('ssh db-1 "systemctl <verb> api"', verb="status").risk is READ
    assert judge('ssh db-1 "systemctl <verb> api"', verb="restart").risk is WRITE
    assert judge('ssh db-1 "systemctl <verb> api"').risk is WRITE


def test_a_value_the_inner_script_reads_from_its_environment_is_not_re_parsed() -> None:
    judged = judge_shell("bash -c 'echo \"$RB_X\"'", {"RB_X": "a; rm -rf /"})
    assert judged.refused is None and judged.reparsed == {} and judged.risk is READ


def test_a_known_tool_s_option_values_are_no_verbs() -> None:
    assert judge("kubectl -n <ns> rollout restart deploy/api", ns="rm-old; kill").risk is WRITE
    assert judge_shell("kubectl -n kill-switch scale deploy/api --replicas=0").risk is WRITE
    assert judge_shell("kubectl scale deploy/api --replicas=0 --force").risk is DESTRUCTIVE
    assert judge_shell("./deploy.sh --mode reset").risk is DESTRUCTIVE  # an unknown tool: every word counts


def test_a_script_nested_too_deep_to_walk_is_a_write_and_refuses_values() -> None:
    deep = "echo " + "$(" * 200 + "ls" + ")" * 200
    judged = judge_shell(deep, {"RB_X": "a"})
    assert judged.risk is WRITE and judged.reason.startswith("write: the script nests more than 120 levels deep")
    assert judged.refused and "where `--x` would land cannot be judged" in judged.refused
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(len(inspect.stack()) + 60)  # what nesting under the limit can still reach (`bash -c` in...)
    try:
        judged = judge_shell("echo " + "$(" * 30 + "ls" + ")" * 30)
    finally:
        sys.setrecursionlimit(limit)
    assert judged.reason == "write: the script nests too deep to judge: judged as writing"


@pytest.mark.parametrize(
    ("script", "endless"),
    [
        ("docker stats\nnpm run memory:profile", "docker stats"),
        ("npm run dev\nps aux", "npm run dev"),
        ("tail -f app.log && echo done", "tail -f app.log"),
        ("watch -n 5 uptime\nuptime", "watch -n 5 uptime"),
        ("kubectl logs -f api\nkubectl get pods", "kubectl logs -f api"),
        ("journalctl -fu api\nsystemctl status api", "journalctl -fu api"),
        ("wrangler tail api | grep D1\nwrangler d1 list", "wrangler tail api"),
        ("npm run prisma:studio\necho next", "npm run prisma:studio"),
        ("node --inspect server.js\necho next", "node --inspect server.js"),
        ("docker stats --no-stream\nuptime", None),  # ends
        ("vim .env\ndeploy.sh", None),  # interactive, but it ends when the editor is quit
        ("npm run dev &\ncurl localhost:3000", None),  # in the background: the rest runs
        ("tail -f app.log || echo gone", None),  # runs when the first fails
        ("uptime\ntail -f app.log", None),  # nothing after it
    ],
)
def test_a_command_that_never_ends_with_commands_after_it_is_found(script: str, endless: str | None) -> None:
    unreached = judge_shell(script).unreached
    assert (unreached.endless if unreached else None) == endless


# -- loops that never end, and what `timeout` bounds ------------------------------------------------------------

NO_WAY_OUT = "loops with nothing in it that leaves the loop (`break`, `exit`, `return`): it never ends"


@pytest.mark.parametrize(
    ("script", "head"),
    [
        ("while true; do kubectl get pods; sleep 5; done\necho after", "while true"),
        ("while :\ndo\n  date\n  sleep 1\ndone\necho after", "while :"),
        ("until false; do uptime; done\necho after", "until false"),
        ("for ((;;)); do uptime; done\necho after", "for ((;;))"),
        ("for ((i = 0; ; i++)); do uptime; done\necho after", "for ((i = 0; ; i++))"),
        ("while ((1)); do uptime; done\necho after", "while ((1))"),
        ("while true; do (exit 1); done\necho after", "while true"),  # a subshell's exit leaves the subshell
        ("while true; do echo $(exit); done\necho after", "while true"),
        ("while true; do ls | while read -r l; do break; done; done\necho after", "while true"),  # the inner one
        ("while true; do for x in a b; do break; done; done\necho after", "while true"),
        ("while true; do f() { return; }; done\necho after", "while true"),  # defined, never called
        ("bash -c 'while true; do uptime; done'\necho after", "while true"),
        ("if true; then\n  while true; do uptime; done\nfi\necho after", "while true"),
    ],
)
def test_a_loop_with_no_way_out_never_ends_and_cuts_the_step(script: str, head: str) -> None:
    judged = judge_shell(script)
    assert (judged.mode, judged.mode_reason, judged.endless) == ("follow", f"`{head}` {NO_WAY_OUT}", True)
    assert judged.unreached is not None and judged.unreached.endless == head
    assert judged.risk is READ  # the loop itself changes nothing: its commands are judged as ever


@pytest.mark.parametrize(
    "script",
    [
        "while true; do curl -fsS localhost:3000/health && break; sleep 1; done\necho up",
        "while :; do pg_isready || exit 1; done\necho ready",
        "f() { while true; do ls; return; done; }\nf\necho after",
        "while true; do for x in a b; do break 2; done; done\necho after",
        "while true; do for x in a b; do break $n; done; done\necho after",  # the level is known only when it runs
        "done_yet() { exit 0; }\nwhile true; do done_yet; done\necho after",  # a function of the script may leave
        "while read -r line; do echo $line; done < list.txt\necho after",
        "while sleep 5; do uptime; done\necho after",  # not a condition that cannot change
        "while true; false; do uptime; done\necho after",  # the last command of the condition decides
        "while ((0)); do uptime; done\necho after",
        "until true; do uptime; done\necho after",
        "for ((i = 0; i < 3; i++)); do uptime; done\necho after",
        "for pod in a b c; do kubectl get pod $pod; done\necho after",
    ],
)
def test_a_loop_that_may_end_runs_as_a_step(script: str) -> None:
    judged = judge_shell(script)
    assert (judged.mode, judged.mode_reason, judged.unreached) == ("run", "", None)


@pytest.mark.parametrize(
    ("script", "mode", "reason"),
    [
        (
            "timeout 60 tail -f x.log\necho after",
            "follow",
            "`timeout 60 tail -f x.log` follows its output; `timeout` ends it after 1m 00s",
        ),
        (
            "timeout -s INT 5m watch -n 5 uptime\nuptime",
            "interactive",
            "`timeout -s INT 5m watch -n 5 uptime` is interactive: it needs the terminal; "
            "`timeout` ends it after 5m 00s",
        ),
        (
            "timeout --signal=KILL 1.5h kubectl logs -f api\necho after",
            "follow",
            "`timeout --signal=KILL 1.5h kubectl logs…` follows its output; `timeout` ends it after 1h 30m",
        ),
        (
            "timeout 30 bash -c 'while true; do uptime; done'\necho after",
            "follow",
            "`timeout 30 bash -c 'while true; do upti…` follows its output; `timeout` ends it after 30s",
        ),
        (
            "timeout -s CONT -k 10 5 tail -f x.log\necho after",  # CONT ends nothing, but -k kills it 10 s later
            "follow",
            "`timeout -s CONT -k 10 5 tail -f x.log` follows its output; `timeout` ends it after 5s",
        ),
    ],
)
def test_timeout_bounds_what_would_never_end(script: str, mode: str, reason: str) -> None:
    judged = judge_shell(script)
    assert (judged.mode, judged.mode_reason, judged.endless, judged.unreached) == (mode, reason, False, None)


@pytest.mark.parametrize(
    "script",
    [
        'timeout "$WAIT" tail -f x.log\necho after',  # known only when it runs
        "timeout 0 tail -f x.log\necho after",  # 0: no timeout
        "timeout 1w tail -f x.log\necho after",  # not a unit timeout knows
        "timeout -s CONT 5 tail -f x.log\necho after",  # SIGCONT ends nothing
        "timeout -k 0 -s STOP 5 tail -f x.log\necho after",  # nor does SIGSTOP, and -k 0 kills never
    ],
)
def test_a_timeout_that_bounds_nothing_keeps_it_endless(script: str) -> None:
    judged = judge_shell(script)
    assert judged.mode == "follow" and judged.endless and judged.unreached is not None
    assert judged.mode_reason.endswith("follows: it never ends")
