"""Rules for commands that run other commands or code: wrappers (`sudo CMD`), shells and re-parsers (`bash -c S`,
`eval`, `ssh host CMD`, `watch CMD`), containers (`docker exec C CMD`, `kubectl exec POD -- CMD`) and the
package runners (`npm run X`, `npx prisma ...`). A wrapper is judged by what it runs; text a program re-parses as
shell code goes back to the judge through `Context.script`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from console.judge.shell_words import (
    DESTRUCTIVE,
    MODES,
    Check,
    Context,
    Found,
    Mode,
    Part,
    Word,
    found,
    parse,
    shown,
    split,
    unknown_command,
    worst,
)
from console.models import Risk

_ASSIGNMENT = re.compile(r"[A-Za-z_]\w*=")
XARGS_INPUT = Word((Part(None, "<input>"),))


def _after(words: Sequence[Word], at: int, values: str) -> tuple[list[Word], set[str]]:
    """The command a wrapper runs (the words from its first positional one) and the wrapper's own options."""
    args = parse(words[at:], split(values), stop_at_positional=True)
    return list(words[at + args.rest :]), {name for name, _ in args.options}


def sudo(words: Sequence[Word], at: int, ctx: Context) -> list[Found]:
    inner, options = _after(words, at, "-u -g -h -C -D -p -r -t -U -T --user --group --host --prompt --chdir")
    if options & {"-e", "--edit"}:
        return [found(Risk.WRITE, words, "edits files", "interactive")]
    if inner:
        return ctx.command(inner)
    if options & {"-l", "--list", "-v", "--validate", "-V", "--version", "-k", "-K"}:
        return []
    return [found(Risk.WRITE, words, "opens a root shell", "interactive")]


def env(words: Sequence[Word], at: int, ctx: Context) -> list[Found]:
    inner, options = _after(words, at, "-u -C -S --unset --chdir --split-string")
    if options & {"-S", "--split-string"}:
        return [found(Risk.WRITE, words, "splits a string into a command")]
    while inner and _ASSIGNMENT.match(inner[0].parts[0].text or ""):
        inner = inner[1:]
    return ctx.command(inner) if inner else []


def wrapper(values: str, *, writes: str = "") -> Check:
    """A wrapper that runs the rest of its words (after its options); `writes`: its options that write a file
    (`time -o FILE`). `timeout`, which also bounds what it runs, is `shell_endless.timeout`."""

    def judge(words: Sequence[Word], at: int, ctx: Context) -> list[Found]:
        inner, options = _after(words, at, values)
        if options & set(writes.split()):
            return [found(Risk.WRITE, words, "writes a file")]
        return ctx.command(inner) if inner else []

    return judge


def command(words: Sequence[Word], at: int, ctx: Context) -> list[Found]:
    inner, options = _after(words, at, "")
    if options & {"-v", "-V"}:
        return []
    return ctx.command(inner) if inner else []


def xargs(words: Sequence[Word], at: int, ctx: Context) -> list[Found]:
    """xargs appends words from its input to the command: a command whose options could write is fed a word
    that could be one (`<input>`), so `xargs sort` is a write while `xargs grep x` stays a read."""
    inner, options = _after(
        words,
        at,
        """-n -L -P -d -I -a -E -e -s --max-args --max-lines --max-procs --delimiter --replace --arg-file --eof
        --max-chars --process-slot-var""",
    )
    results = ctx.command([*(inner or [Word.of("echo")]), XARGS_INPUT])
    if options & {"-p", "--interactive"}:
        return [*results, found(Risk.READ, words, "asks before each command", "interactive")]
    return results


def watch(words: Sequence[Word], at: int, ctx: Context) -> list[Found]:
    inner, options = _after(words, at, "-n -q --interval --equexit")
    results = (ctx.command(inner) if options & {"-x", "--exec"} else ctx.script(inner, "watch")) if inner else []
    return [*results, found(Risk.READ, words, "redraws the terminal", "interactive", endless=True)]


def shell(words: Sequence[Word], at: int, ctx: Context) -> list[Found]:
    """bash/sh/zsh: `-c S` is judged as a script; a script file is code the console cannot read."""
    args = parse(words[at:], split("-o -O +o +O --rcfile --init-file"), stop_at_positional=True)
    rest = list(words[at + args.rest :])
    if any(name == "-c" for name, _ in args.options):
        return ctx.script(rest[:1], words[0].shown) if rest else [found(Risk.WRITE, words, "has no script")]
    if rest:
        return [found(Risk.WRITE, words, "runs a script the console cannot read")]
    if ctx.fed:
        return [found(Risk.WRITE, words, "runs shell code from its input")]
    return [found(Risk.WRITE, words, "opens a shell", "interactive")]


def eval_(words: Sequence[Word], at: int, ctx: Context) -> list[Found]:
    return ctx.script(words[at:], "eval")


def su(words: Sequence[Word], at: int, ctx: Context) -> list[Found]:
    args = parse(words[at:], split("-c -s -g -G -w --command --shell --group --supp-group"))
    script = args.value({"-c", "--command"})
    if script is not None:
        return ctx.script([script], "su")
    return [found(Risk.WRITE, words, "opens a shell as another user", "interactive")]


def trap(words: Sequence[Word], at: int, ctx: Context) -> list[Found]:
    args = parse(words[at:], frozenset())
    action = args.positional[0] if args.positional else None
    if action is None or action.text == "-" or (action.text or "").isdigit():
        return []
    return ctx.script([action], "trap")


def source(words: Sequence[Word], at: int, ctx: Context) -> list[Found]:
    return [found(Risk.WRITE, words, "runs a file's code the console cannot read")]


SSH_VALUES = "-b -c -D -E -e -F -I -i -J -L -l -m -O -o -p -Q -R -S -W -w -B"


def ssh(words: Sequence[Word], at: int, ctx: Context) -> list[Found]:
    """The remote command is joined and re-parsed by the remote shell: judged as a script."""
    rest, options = _after(words, at, SSH_VALUES)
    remote = rest[1:]
    if not remote:
        if "-N" in options:
            return [found(Risk.READ, words, "keeps a tunnel open", "follow")]
        return [found(Risk.WRITE, words, "opens a remote shell", "interactive")]
    results = ctx.script(remote, "ssh")
    tty = "-t" in options
    return [*results, found(Risk.READ, words, "asks for a terminal", "interactive")] if tty else results


def container_exec(values: str, *, dashes: bool = False, tty: bool = False) -> Check:
    """`docker exec C CMD`, `docker compose exec SVC CMD`, `kubectl exec POD -- CMD`: the command is judged;
    `-t` (a terminal) makes it interactive, and no command at all is a shell. `tty`: the tool asks for a terminal
    unless told not to (`docker compose exec` without `-T` fails with no terminal: "the input device is not a TTY")."""

    def judge(words: Sequence[Word], at: int, ctx: Context) -> list[Found]:
        texts = [w.text for w in words]
        if dashes and "--" in texts[at:]:
            cut = texts.index("--", at)
            _, options = _after(words[:cut], at, values)
            inner = list(words[cut + 1 :])
        else:
            rest, options = _after(words, at, values)
            inner = rest[1:]
        results = ctx.command(inner) if inner else [found(Risk.WRITE, words, "opens a shell")]
        wants_terminal = not options & {"-T", "--no-TTY", "--no-tty", "-d", "--detach"} if tty else False
        if options & {"-t", "--tty"} or wants_terminal or not inner:
            results.append(found(Risk.READ, words, "needs a terminal", "interactive"))
        return results

    return judge


# -- databases ----------------------------------------------------------------------------------------------------

PSQL_VALUES = split(
    """-c -d -f -h -p -U -o -L -v -P -F -R -T --command --dbname --file --host --port --username --output
    --log-file --set --variable --pset --field-separator --record-separator --table-attr"""
)
_PSQL_READ_META = re.compile(r"\\(?:d\w*|l\+?|list|conninfo|dt\S*)\s*\S*\s*$")


def psql(words: Sequence[Word], at: int, ctx: Context) -> list[Found]:
    from console.judge.sql import judge_sql

    args = parse(words[at:], PSQL_VALUES)
    output = args.value({"-o", "--output", "-L", "--log-file"})
    if output is not None and output.text not in ("/dev/null", "-"):
        return [found(Risk.WRITE, words, "writes a file")]
    commands = [v for name, v in args.options if name in ("-c", "--command") and v]
    if args.has({"-f", "--file"}):
        return [found(Risk.DESTRUCTIVE, words, "runs SQL from a file the console does not judge")]
    if ctx.fed and not commands and ctx.stdin is None:
        return [found(Risk.DESTRUCTIVE, words, "restores into a database")]
    if ctx.fed and not commands and ctx.stdin is not None:
        commands = [ctx.stdin]
    if not commands:
        return [] if args.has({"-l", "--list"}) else [found(Risk.WRITE, words, "opens the psql prompt", "interactive")]
    ctx.reparsed(commands, "psql")
    results = []
    for sql in commands:
        if any(p.text is None and not p.var for p in sql.parts):
            results.append(found(Risk.DESTRUCTIVE, words, "runs SQL that is not written in the script"))
            continue
        text = "".join(p.text if p.text is not None else "0" for p in sql.parts)
        if text.lstrip().startswith("\\"):
            if not _PSQL_READ_META.fullmatch(text.strip()):
                results.append(found(Risk.WRITE, words, "runs a psql meta-command"))
            continue
        risk, reason = judge_sql(text)
        results.append(Found(risk, reason, command=shown(words)))
    return results


def repl(prompt: str, *, run: str, values: str = "") -> Check:
    """mysql / mongosh: `run` names the options that take code (not judged: write); fed input is a restore; with
    neither it opens the prompt."""

    def judge(words: Sequence[Word], at: int, ctx: Context) -> list[Found]:
        args = parse(words[at:], split(values + " " + run))
        if args.has(split(run)):
            return [found(Risk.WRITE, words, "runs code the console does not judge")]
        if ctx.fed:
            return [found(Risk.DESTRUCTIVE, words, "restores into a database")]
        return [found(Risk.WRITE, words, f"opens the {prompt} prompt", "interactive")]

    return judge


# -- programs and package scripts ---------------------------------------------------------------------------------


def interpreter(values: str, code: str, *, inspect: str = "") -> Check:
    """node / python: `code` options run code given inline, a script is a program the console cannot read, none
    at all is the prompt (or code from the input)."""

    def judge(words: Sequence[Word], at: int, ctx: Context) -> list[Found]:
        args = parse(words[at:], split(values), stop_at_positional=True)
        names = {name.partition("=")[0] for name, _ in args.options}
        if inspect and any(n.startswith(inspect) for n in names):
            return [found(Risk.WRITE, words, "waits for a debugger", "interactive", endless=True)]
        if names & {"--version", "-V", "-v"} and args.rest == len(words) - at:
            return []
        if names & split(code) or args.rest < len(words) - at:
            return [found(Risk.WRITE, words, "runs a program the console cannot read")]
        if ctx.fed:
            return [found(Risk.WRITE, words, "runs code from its input")]
        return [found(Risk.WRITE, words, "opens the prompt", "interactive")]

    return judge


DEV_SCRIPTS = split("dev start serve preview watch")
# Words in a package script's name that say it destroys: restores, resets, migrations (they write to the database,
# as SQL that writes is destructive), clearing and flushing caches.
SCRIPT_VERBS = {
    **{word: DESTRUCTIVE[word] for word in ("restore", "reset", "rollback", "drop", "delete", "flush")},
    "migrate": "migrates the database",
    "clear": "clears",
    "purge": "purges",
}


def package_script(words: Sequence[Word], name: Word | None, ctx: Context) -> list[Found]:
    """`npm run X`: code the console cannot read, never a read. A script named like a restore, reset, rollback,
    drop, delete or flush is destructive; a dev server needs the terminal; any other runs the package's code (write).
    A name that reads as a command of the table (`prisma:migrate:dev` is `prisma migrate dev`) is judged as that
    command too: its risk when worse, and its mode (interactive, follow)."""
    text = (name.text if name else None) or ""
    if name is None or name.text is None:
        return [found(Risk.WRITE, words, "runs a package script that is not written in the script")]
    verb = next((what for word, what in SCRIPT_VERBS.items() if word in text), "")
    if verb and text.rsplit(":", 1)[-1] in ("status", "list", "check"):
        verb = ""  # `db:migrate:status` reports on migrations: an unknown script, not a migration
    if verb:
        own = found(Risk.DESTRUCTIVE, words, f"runs the package's `{text}` script ({verb})")
    elif text in DEV_SCRIPTS or text.startswith("dev:"):
        own = found(Risk.WRITE, words, "runs a dev server", "interactive", endless=True)
    elif "studio" in text:
        browser = f"runs the package's `{text}` script (a database browser)"
        own = found(Risk.WRITE, words, browser, "interactive", endless=True)
    else:
        own = found(Risk.WRITE, words, f"runs the package's `{text}` script")
    return [own, *_named_like(words, text, ctx)]


def _named_like(words: Sequence[Word], script: str, ctx: Context) -> list[Found]:
    """What a package script named like a command the table knows does, as that command (`prisma:studio`:
    `prisma studio`, interactive), worded as the script; nothing when the name is no such command."""
    named = [Word.of(part) for part in re.split(r"[:_.]+", script) if part]
    if len(named) < 2 or not ctx.knows(named[0].text or ""):
        return []
    judged = ctx.command(named)
    like = worst(judged) or Found(Risk.READ, "")
    mode: Mode = max((f.mode for f in judged), key=MODES.index, default="run")
    if like.risk is Risk.READ and mode == "run":
        return []
    what = " ".join(w.text or "" for w in named)
    endless = any(f.endless for f in judged)
    return [
        found(like.risk, words, f"runs the package's `{script}` script, named like `{what}`", mode, endless=endless)
    ]


NPM_READS = split("ls list view info outdated explain why ping whoami")
NPM_AUDIT_WRITES = split("fix signatures")


def npm(words: Sequence[Word], at: int, ctx: Context) -> list[Found]:
    rest, options = _after(words, at, "-w --workspace --prefix")
    if not rest:
        return [] if options & {"--version", "-v"} else [found(Risk.READ, words, "prints its help")]
    sub = rest[0].text
    if sub in ("run", "run-script", "rum", "urn"):
        script, _ = _after(rest, 1, "-w --workspace --prefix")
        return package_script(words, script[0] if script else None, ctx)
    if sub in ("start", "test", "restart", "stop"):
        return package_script(words, rest[0], ctx)
    if sub in ("exec", "x"):
        inner, _ = _after(rest, 1, "-p --package -c --call")
        return ctx.command(inner) if inner else [found(Risk.WRITE, words, "runs a package")]
    if sub in NPM_READS:
        return []
    if sub == "audit":
        return [unknown_command(words, "is not a read of npm")] if {w.text for w in rest[1:]} & NPM_AUDIT_WRITES else []
    return [unknown_command(words, "is not a read of npm")]


def npx(words: Sequence[Word], at: int, ctx: Context) -> list[Found]:
    args = parse(words[at:], split("-p -c --package --call"), stop_at_positional=True)
    call = args.value({"-c", "--call"})
    if call is not None:
        return ctx.script([call], "npx -c")
    inner = list(words[at + args.rest :])
    return ctx.command(inner) if inner else [found(Risk.WRITE, words, "runs a package")]


YARN_OWN = split("install add remove upgrade up import link unlink publish pack cache config set dlx create init")


def yarn(words: Sequence[Word], at: int, ctx: Context) -> list[Found]:
    """yarn / pnpm: `run X` and a bare `X` run the package script X (or the package binary X the rules know);
    `exec`/`dlx X` run X; their own commands change the dependencies (write)."""
    rest, options = _after(words, at, "--cwd -C --filter -F --dir")
    if not rest:
        return [] if options & {"--version", "-v"} else [found(Risk.WRITE, words, "installs the dependencies")]
    sub = rest[0].text
    if sub in ("ls", "list", "info", "why", "outdated", "view"):
        return []
    if sub in ("exec", "dlx"):
        return ctx.command(rest[1:]) if len(rest) > 1 else [found(Risk.WRITE, words, "runs a package")]
    if sub == "run":
        return package_script(words, rest[1] if len(rest) > 1 else None, ctx)
    if sub in YARN_OWN:
        return [unknown_command(words, f"is not a read of {words[0].shown}")]
    return ctx.command(rest) if ctx.knows(sub or "") else package_script(words, rest[0], ctx)


# -- redis-cli ----------------------------------------------------------------------------------------------------

REDIS_VALUES = split(
    """-h -p -s -a -u -n -r -i -d -D -t --user --pass --cacert --cacertdir --cert --key --sni --pattern --count
    --quoted-pattern --rdb --functions-rdb --pipe-timeout --memkeys-samples --eval --tls-ciphers --tls-ciphersuites"""
)
REDIS_READS = split(
    """ping info get mget ttl pttl type exists strlen llen scard zcard hlen hget hmget hgetall hkeys hvals hexists
    lrange lindex smembers sismember zrange zrangebyscore zrevrange zrevrangebyscore zscore zrank zcount scan sscan
    hscan zscan dbsize time lastsave role echo getrange bitcount pfcount xlen xrange xrevrange keys"""
)
REDIS_READ_PAIRS = {
    "memory": split("usage stats doctor"),
    "slowlog": split("get len"),
    "client": split("list info getname id"),
    "config": split("get"),
    "latency": split("latest history doctor"),
    "cluster": split("info nodes slots shards"),
    "command": split("count info docs"),
    "object": split("encoding freq idletime refcount"),
    "xinfo": split("stream groups consumers"),
}
REDIS_FOLLOWS = split("monitor subscribe psubscribe ssubscribe")
REDIS_SCANS = split("--scan --bigkeys --memkeys --hotkeys --keystats")
REDIS_STREAMS = split("--stat --latency --latency-history --latency-dist")
KEYS_NOTE = "`redis-cli keys` blocks Redis while it walks every key (--scan does not)"


def redis_cli(words: Sequence[Word], at: int, ctx: Context) -> list[Found]:
    args = parse(words[at:], REDIS_VALUES, stop_at_positional=True)
    if args.has({"--rdb", "--functions-rdb"}):
        return [found(Risk.WRITE, words, "writes a file")]
    if args.has({"--eval"}):
        return [found(Risk.WRITE, words, "runs a Lua script")]
    repeat = args.value({"-r"})
    if args.has(REDIS_STREAMS) or (repeat is not None and (repeat.text or "-").startswith("-")):
        return [found(Risk.READ, words, "never ends", "follow")]
    rest = words[at + args.rest :]
    if args.has(REDIS_SCANS):
        return []
    if not rest:
        if ctx.fed or args.has({"--pipe"}):
            return [found(Risk.DESTRUCTIVE, words, "runs Redis commands from its input")]
        return [found(Risk.WRITE, words, "opens the Redis prompt", "interactive")]
    name = (rest[0].text or "").lower()
    sub = (rest[1].text or "").lower() if len(rest) > 1 else ""
    if not name:
        return [found(Risk.WRITE, words, "runs a Redis command that is not written in the script")]
    if name in REDIS_READS or sub in REDIS_READ_PAIRS.get(name, ()):
        return [found(Risk.READ, words, "reads", note=KEYS_NOTE)] if name == "keys" else []
    if name in REDIS_FOLLOWS:
        return [found(Risk.READ, words, "never ends", "follow")]
    if name in ("shutdown", "debug", "failover", "replicaof", "slaveof"):
        return [found(Risk.DESTRUCTIVE, words, "changes the server")]
    return [unknown_command(words, "is not a read of Redis")]
