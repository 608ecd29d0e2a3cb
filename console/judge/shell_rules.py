"""The command table: one `Rule` per command the console knows, and `judge_words`, which applies it.

A command missing from the table is not a read (write, or destructive when its words say so: see
`shell_words.unknown_command`). To teach the console a command, add a row: its options that take a value (so a
value is not taken for a positional word), those that write or destroy, those that make it never end (`follows`),
and, when an unknown option could write, every option it knows (`options`). What a row cannot say goes in a
`check` function (`shell_tools`, `shell_wrappers`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

from console.judge import shell_endless as endless
from console.judge import shell_tools as tools
from console.judge import shell_wrappers as wrap
from console.judge.shell_words import (
    Check,
    Context,
    Found,
    Mode,
    Word,
    each,
    found,
    matches,
    parse,
    split,
    unknown_command,
)
from console.models import Risk

VERSION = frozenset({"--version", "--help"})


@dataclass(frozen=True)
class Rule:
    """How one command (or subcommand) is judged; every field has the default of a plain reading command."""

    risk: Risk = Risk.READ  # with nothing else said (for a tool with subcommands: with no subcommand)
    what: str = ""  # the reason's words when `risk` is not read ("removes files")
    mode: Mode = "run"
    values: frozenset[str] = frozenset()  # options written with a value: `-n 5`, `--output FILE`
    writes: Mapping[str, str] = field(default_factory=dict)  # option -> what it does
    destroys: Mapping[str, str] = field(default_factory=dict)
    follows: frozenset[str] = frozenset()  # options after which it never ends (mode follow)
    endless: bool = False  # interactive and runs until stopped (a dev server, `htop`): see Found.endless
    options: frozenset[str] | None = None  # every option it knows; None: no option of it can write
    args: int | None = None  # at most this many positional words; more: `args_what` (uniq IN OUT writes OUT)
    args_what: str = "writes a file"
    subcommands: Mapping[str, Rule] | None = None
    check: Check | None = None
    long: bool = False  # options are single-dash words: `find -name`, `openssl x509 -noout`


READ = Rule()
WRITE = Rule(Risk.WRITE, "is not a read")
FOLLOW = Rule(mode="follow", what="never ends")
STOPS = Rule(Risk.DESTRUCTIVE, "stops services")


def _rules(names: str, rule: Rule) -> dict[str, Rule]:
    return dict.fromkeys(names.split(), rule)


def _subs(reads: str = "", **more: Rule) -> dict[str, Rule]:
    return {**_rules(reads, READ), **{k.replace("_", "-"): v for k, v in more.items()}}


LOGS = Rule(follows=split("-f --follow"), values=split("--tail --since --until -n --timestamps"))
KUBECTL = Rule(
    values=split(
        """-n -l -o -c -s --namespace --context --cluster --kubeconfig --user --selector --output --container
        --field-selector --since --since-time --tail --server --token --as --as-group --request-timeout --sort-by
        --template -L --label-columns --chunk-size --max-log-requests"""
    ),
    subcommands=_subs(
        "describe top explain version cluster-info api-resources api-versions",
        get=Rule(follows=split("-w --watch --watch-only")),
        logs=LOGS,
        auth=Rule(subcommands=_subs("can-i whoami")),
        rollout=Rule(subcommands=_subs("status history", undo=Rule(Risk.DESTRUCTIVE, "rolls back"))),
        config=Rule(subcommands=_subs("view get-contexts current-context get-clusters get-users")),
        exec=Rule(check=wrap.container_exec("-c --container -f --filename --pod-running-timeout", dashes=True)),
        edit=Rule(Risk.WRITE, "edits a live object", "interactive"),
    ),
)
COMPOSE = Rule(
    values=split("-f -p --file --project-name --env-file --profile --project-directory --ansi --progress"),
    subcommands=_subs(
        "ps top images config port version ls",
        logs=LOGS,
        events=FOLLOW,
        exec=Rule(check=wrap.container_exec("-e -u -w --env --user --workdir --index", tty=True)),
        stop=STOPS,
        kill=Rule(Risk.DESTRUCTIVE, "kills services"),
        down=Rule(Risk.DESTRUCTIVE, "stops services and removes their containers"),
    ),
)
DOCKER = Rule(
    values=split("-H -c -l --host --context --config --log-level"),
    subcommands=_subs(
        "ps top inspect images version info port history diff",
        logs=LOGS,
        events=FOLLOW,
        stats=Rule(check=tools.docker_stats),
        exec=Rule(check=wrap.container_exec("-e -u -w --env --env-file --user --workdir --detach-keys")),
        compose=COMPOSE,
        stop=Rule(Risk.DESTRUCTIVE, "stops containers"),
        system=Rule(subcommands=_subs("df info", events=FOLLOW)),
        **_rules("container image network volume context", Rule(subcommands=_subs("ls list inspect history"))),
    ),
)
HELM = Rule(
    values=split("-n --namespace --kube-context --kubeconfig --repository-config --registry-config"),
    subcommands=_subs(
        "list ls status history get show version env search",
        uninstall=Rule(Risk.DESTRUCTIVE, "uninstalls a release"),
        repo=Rule(subcommands=_subs("list ls")),
    ),
)
GIT_OUTPUT = Rule(writes=each("writes a file", "--output"))
GIT = Rule(
    values=split("-C -c --git-dir --work-tree --namespace"),
    subcommands=_subs(
        "status rev-parse describe ls-files blame shortlog rev-list cat-file show-ref",
        log=GIT_OUTPUT,
        diff=GIT_OUTPUT,
        show=GIT_OUTPUT,
        branch=Rule(check=tools.git_list("branches")),
        tag=Rule(check=tools.git_list("tags")),
        remote=Rule(subcommands=_subs("show get-url")),
        push=Rule(check=tools.git_push),
        revert=Rule(check=tools.git_revert),
        clean=Rule(Risk.DESTRUCTIVE, "deletes untracked files"),
    ),
)
SYSTEMCTL = Rule(
    values=split("-H -M -p -t -n -o --host --machine --property --type --state --lines --output"),
    subcommands=_subs(
        """status is-active is-enabled is-failed list-units list-timers list-unit-files list-sockets
        list-dependencies show cat""",
        edit=Rule(Risk.WRITE, "edits a unit", "interactive"),
        stop=Rule(Risk.DESTRUCTIVE, "stops a service"),
    ),
)
PRISMA = Rule(
    subcommands=_subs(
        "validate version",
        migrate=Rule(
            subcommands=_subs(
                "status diff",
                reset=Rule(Risk.DESTRUCTIVE, "resets the database"),
                **_rules("deploy resolve", Rule(Risk.DESTRUCTIVE, "migrates the database")),
                dev=Rule(Risk.DESTRUCTIVE, "migrates the database (and asks for a name)", "interactive"),
            )
        ),
        studio=Rule(Risk.WRITE, "opens Prisma Studio", "interactive", endless=True),
    ),
)
DEV_SERVER = Rule(Risk.WRITE, "runs a dev server", "interactive", endless=True)
VERCEL = Rule(
    Risk.WRITE,
    "deploys",
    values=split("-t -S -A --token --scope --local-config --cwd"),
    subcommands=_subs(
        "ls list inspect whoami",
        logs=Rule(follows=split("-f --follow")),
        env=Rule(
            subcommands=_subs(
                "ls list",
                add=Rule(Risk.WRITE, "adds a variable (it prompts for the value)", "interactive"),
                rm=Rule(check=tools.vercel_env_rm),
                remove=Rule(check=tools.vercel_env_rm),
            )
        ),
    ),
)
WRANGLER = Rule(
    values=split("-c -e --config --env"),
    subcommands=_subs(
        "whoami",
        tail=FOLLOW,
        deployments=Rule(subcommands=_subs("list status view")),
        secret=Rule(
            subcommands=_subs(
                "list",
                put=Rule(Risk.WRITE, "sets a secret (it prompts for the value)", "interactive"),
                delete=Rule(Risk.DESTRUCTIVE, "deletes a secret (it asks to confirm)", "interactive"),
            )
        ),
        dev=DEV_SERVER,
        d1=Rule(
            subcommands=_subs(
                "list info",
                execute=Rule(check=tools.d1_execute),
                backup=Rule(subcommands=_subs("list", create=Rule(Risk.WRITE, "takes a backup"))),
                migrations=Rule(subcommands=_subs("list")),
            )
        ),
        **_rules("kv:key kv:namespace", Rule(subcommands=_subs("list get"))),
        kv=Rule(subcommands=_rules("key namespace", Rule(subcommands=_subs("list get")))),
        r2=Rule(
            subcommands=_subs("", object=Rule(subcommands=_subs("get list")), bucket=Rule(subcommands=_subs("list")))
        ),
    ),
)
OPENSSL = Rule(
    subcommands=_subs(
        "s_client version",
        x509=Rule(
            long=True,
            values=split("-in -inform -nameopt -ext -checkend -certopt"),
            writes=each("writes a file", "-out -signkey -req"),
            options=split(
                """-in -inform -noout -text -dates -enddate -startdate -subject -issuer -serial -fingerprint
                -modulus -pubkey -purpose -ext -nameopt -hash -email -ocsp_uri -checkend -sha256 -sha1 -md5
                -certopt -subject_hash -issuer_hash"""
            ),
        ),
    )
)
PAGER = Rule(mode="interactive", what="needs the terminal")
EDITOR = Rule(Risk.WRITE, "edits a file", "interactive")

NEXT = replace(DEV_SERVER, subcommands=_subs("info", dev=DEV_SERVER, start=DEV_SERVER))
VITE = replace(DEV_SERVER, subcommands=_rules("dev serve preview", DEV_SERVER))
WRAPPERS = {
    "sudo": wrap.sudo,
    "env": wrap.env,
    "command": wrap.command,
    "builtin": wrap.wrapper(""),
    "exec": wrap.wrapper("-a"),
    "time": wrap.wrapper("-o -f --output --format", writes="-o --output"),
    "nice": wrap.wrapper("-n --adjustment"),
    "nohup": wrap.wrapper(""),
    "stdbuf": wrap.wrapper("-i -o -e --input --output --error"),
    "timeout": endless.timeout,
    "xargs": wrap.xargs,
    "watch": wrap.watch,
    **dict.fromkeys(("bash", "sh", "zsh", "dash", "ksh"), wrap.shell),
    "eval": wrap.eval_,
    "su": wrap.su,
    "trap": wrap.trap,
    **dict.fromkeys(("source", "."), wrap.source),
    "ssh": wrap.ssh,
    "psql": wrap.psql,
    "mysql": wrap.repl("MySQL", run="-e --execute", values="-h -P -u -p -D --host --port --user --database"),
    **dict.fromkeys(("mongosh", "mongo"), wrap.repl("Mongo", run="--eval -f --file", values="--host --port")),
    "node": wrap.interpreter(
        "-r -C --require --conditions --input-type --import --loader", "-e -p --eval --print", inspect="--inspect"
    ),
    **dict.fromkeys(("python", "python3"), wrap.interpreter("-W -X", "-c -m")),
    "npm": wrap.npm,
    "npx": wrap.npx,
    **dict.fromkeys(("yarn", "pnpm"), wrap.yarn),
    "redis-cli": wrap.redis_cli,
}
RULES: dict[str, Rule] = {
    **_rules(
        """cat ls grep egrep fgrep rg zcat zgrep bzcat xzcat head wc cut tr column echo printf ps pgrep df du free
        uptime dig host traceroute tracepath whoami id printenv which type stat md5sum sha1sum sha256sum sha512sum cksum
        netstat lsof true false test [ pwd basename dirname realpath readlink nproc getent base64 od hexdump strings
        tac nl paste diff cmp seq uname w who comm join fold expand jq pg_isready iostat vmstat mpstat pidstat""",
        READ,
    ),
    # neutral: they change only the script's own shell
    **_rules("cd set shopt sleep export local declare readonly unset read exit return shift : wait let", READ),
    **_rules("break continue pushd popd dirs umask ulimit hash getopts alias unalias", READ),
    **_rules("uniq xxd", Rule(args=1, values=split("-f -s -w -l -c -g -o -n --len --seek --cols"))),
    "tail": Rule(
        follows=split("-f -F --follow --retry"),
        values=split("-n -c --lines --bytes --pid -s --sleep-interval --max-unchanged-stats"),
    ),
    "sort": Rule(
        values=split("-k -t -o -S -T --key --field-separator --output --buffer-size --temporary-directory"),
        writes={**each("writes a file", "-o --output"), "--compress-program": "runs a program"},
    ),
    "journalctl": Rule(
        follows=split("-f --follow"),
        values=split("-u -n -S -U -p -o -t -M -D -g -F --unit --lines --since --until --priority --output"),
        writes={
            **each("deletes journal files", "--vacuum-size --vacuum-time --vacuum-files"),
            **each("changes the journal", "--rotate --flush --sync --relinquish-var --smart-relinquish-var"),
            **each("writes a file", "--cursor-file --setup-keys --update-catalog"),
        },
    ),
    "ss": Rule(destroys=each("kills sockets", "-K --kill"), values=split("-f -A --family --query")),
    "dmesg": Rule(
        follows=split("-w -W --follow --follow-new"),
        values=split("-n -f -l -F -s --level --facility --console-level --file --buffer-size --time-format"),
        writes={
            **each("clears the kernel log", "-c -C --read-clear --clear"),
            **each("changes the console log level", "-n -D -E --console-level --console-off --console-on"),
        },
    ),
    "hostname": Rule(
        args=0,
        args_what="sets the host name",
        options=split("-f -i -I -s -d -A -a --fqdn --long --ip-address --all-ip-addresses --short --domain"),
    ),
    "yq": Rule(writes=each("edits files in place", "-i --inplace"), values=split("-o -p --output-format")),
    "file": Rule(writes=each("writes a file", "-C --compile")),
    "pg_dump": Rule(
        writes=each("writes a file", "-f --file"),
        values=split("-f -h -p -U -d -t -n -T -N -F -j -Z -E --file --host --port --username --dbname --format"),
    ),
    "pg_dumpall": Rule(writes=each("writes a file", "-f --file"), values=split("-f -h -p -U -d --file")),
    "pg_restore": Rule(check=tools.pg_restore),
    **_rules("nc netcat ncat", Rule(check=tools.netcat)),
    **_rules("rm rmdir shred", Rule(Risk.DESTRUCTIVE, "removes files")),
    **_rules("kill pkill killall", Rule(Risk.DESTRUCTIVE, "kills processes")),
    "dd": Rule(Risk.DESTRUCTIVE, "overwrites a file or a device"),
    **_rules("mkfs wipefs", Rule(Risk.DESTRUCTIVE, "formats a device")),
    "truncate": Rule(Risk.DESTRUCTIVE, "truncates files"),
    **_rules("reboot shutdown poweroff halt", Rule(Risk.DESTRUCTIVE, "stops the machine")),
    **_rules("less more most man", PAGER),
    **_rules("htop btop", Rule(mode="interactive", what="redraws the terminal", endless=True)),
    **_rules("vi vim nvim nano emacs", EDITOR),
    **_rules("awk gawk mawk nawk", Rule(check=tools.awk)),
    **_rules("iptables ip6tables", Rule(check=tools.iptables)),
    **_rules("gzip gunzip", Rule(check=tools.gzip)),
    **{name: Rule(check=getattr(tools, name)) for name in split("curl wget find sed date ping tee top nslookup")},
    **{name: Rule(check=judge) for name, judge in WRAPPERS.items()},
    "kubectl": KUBECTL,
    "docker": DOCKER,
    "docker-compose": COMPOSE,
    "helm": HELM,
    "git": GIT,
    "systemctl": SYSTEMCTL,
    "openssl": OPENSSL,
    "prisma": PRISMA,
    "next": NEXT,
    "vite": VITE,
    "vercel": VERCEL,
    "wrangler": WRANGLER,
}


def judge_words(words: Sequence[Word], ctx: Context) -> list[Found]:
    """What a command does, by its row (a name missing from the table is not a read)."""
    name = words[0].text or ""
    if name.startswith("/"):
        name = name.rsplit("/", 1)[-1]  # /usr/bin/curl is curl; ./curl is not
    rule = RULES.get(name.partition(".")[0] if name.startswith("mkfs.") else name)
    if rule is None:
        return [unknown_command(words)]
    return _apply(rule, words, 1, ctx, name)


def _own(rule: Rule, words: Sequence[Word]) -> list[Found]:
    plain = rule.risk is Risk.READ and rule.mode == "run"
    return [] if plain else [found(rule.risk, words, rule.what, rule.mode, endless=rule.endless)]


def _apply(rule: Rule, words: Sequence[Word], at: int, ctx: Context, tool: str) -> list[Found]:
    if rule.subcommands is not None:
        return _subcommand(rule, words, at, ctx, tool)
    results = _own(rule, words)
    if rule.check is not None:
        return results + rule.check(words, at, ctx)
    args = parse(words[at:], rule.values, long=rule.long)
    for option, _ in args.options:
        if (what := _lookup(option, rule.destroys)) is not None:
            results.append(found(Risk.DESTRUCTIVE, words, what))
        elif (what := _lookup(option, rule.writes)) is not None:
            results.append(found(Risk.WRITE, words, what))
        elif matches(option, rule.follows):
            results.append(found(Risk.READ, words, "never ends", "follow"))
        elif rule.options is not None and not matches(option, rule.options | VERSION):
            results.append(found(Risk.WRITE, words, f"has an option the console does not know (`{option}`)"))
    if args.unknown and (rule.options is not None or rule.writes or rule.destroys):
        results.append(
            found(Risk.WRITE, words, f"gets `{args.unknown[0].shown}`, which could be an option that writes")
        )
    if rule.args is not None and len(args.positional) > rule.args:
        results.append(found(Risk.WRITE, words, rule.args_what))
    return results


def _subcommand(rule: Rule, words: Sequence[Word], at: int, ctx: Context, tool: str) -> list[Found]:
    """The tool's own options (before the subcommand), then the subcommand's row with the tool's options added."""
    args = parse(words[at:], rule.values, stop_at_positional=True)
    where = at + args.rest
    own = _apply(replace(rule, subcommands=None, risk=Risk.READ, mode="run"), words[:where], at, ctx, tool)
    if where >= len(words):
        versions = {name for name, _ in args.options} & VERSION
        return own if versions else own + _own(rule, words)
    sub = words[where].text
    chosen = rule.subcommands.get(sub) if rule.subcommands and sub is not None else None
    if sub is None:
        return [*own, found(Risk.WRITE, words, f"runs a {tool} subcommand that is not written in the script")]
    if chosen is None:
        rest = parse(words[where:], rule.values)
        forced = [Word.of(name) for name, _ in rest.options if name == "--force"]
        return [*own, unknown_command(words, f"is not a read of {tool}", [words[0], *rest.positional, *forced])]
    return own + _apply(replace(chosen, values=chosen.values | rule.values), words, where + 1, ctx, tool)


def _lookup(option: str, table: Mapping[str, str]) -> str | None:
    return next((what for name, what in table.items() if matches(option, {name})), None)


def knows(name: str) -> bool:
    return name in RULES
