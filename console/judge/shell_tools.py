"""Rules a table row cannot say: the programs awk and sed run, find's actions, curl's and wget's requests.

Each check gets the command's words (the name first) and returns what it finds; `shell_rules.RULES` names it.
The programs are read conservatively: anything that could write or run a command counts as doing so.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from console.judge.shell_words import Check, Context, Found, Mode, Word, each, found, matches, parse, split
from console.models import Risk

DEVICES = frozenset({"/dev/null", "/dev/stdout", "/dev/stderr", "-"})

# -- awk ----------------------------------------------------------------------------------------------------------

AWK_VALUES = split("-F -v -f -e -i -l --field-separator --assign --file --source --include --load")
_AWK_STRING = re.compile(r'"(?:\\.|[^"\\\n])*"')
_AWK_REGEX = re.compile(r"(^|[({,;!~&|\n]|\bin\b)(\s*)/(?:\\.|[^/\\\n])*/")
_AWK_RUNS = re.compile(r"\bsystem\s*\(|(?<!\|)\|(?!\|)|@load|@include")
_AWK_PRINT = re.compile(r"\bprintf?\b")


def awk(words: Sequence[Word], at: int, ctx: Context) -> list[Found]:
    args = parse(words[at:], AWK_VALUES)
    include = args.value({"-i", "--include", "-l", "--load"})
    if include is not None:
        return [found(Risk.WRITE, words, f"loads `{include.shown}` (gawk's inplace edits files)")]
    if args.has({"-f", "--file"}):
        return [found(Risk.WRITE, words, "runs an awk program from a file the console cannot read")]
    programs = [v for name, v in args.options if name in ("-e", "--source") and v] or args.positional[:1]
    ctx.reparsed(programs, "awk")
    for program in programs:
        text = program.text
        if text is None:
            return [found(Risk.WRITE, words, "runs an awk program that is not written in the script")]
        if awk_writes(text):
            return [found(Risk.WRITE, words, "runs an awk program that can write files or run commands")]
    return []


def awk_writes(program: str) -> bool:
    """Whether an awk program may run a command (`system(`, a `|` pipe) or write a file (`print > f`)."""
    code = _AWK_STRING.sub('""', program)
    code = _AWK_REGEX.sub(lambda m: m.group(1) + m.group(2) + "//", code)
    if _AWK_RUNS.search(code):
        return True
    for start in _AWK_PRINT.finditer(code):
        depth = 0
        for char in code[start.end() :]:
            if char in ";}\n":
                break
            depth += {"(": 1, ")": -1}.get(char, 0)
            if char == ">" and depth <= 0:
                return True
    return False


# -- sed ----------------------------------------------------------------------------------------------------------

SED_VALUES = split("-e -f -l --expression --file --line-length")
SED_OPTIONS = split(
    """-n -e -f -E -r -s -z -u -l --quiet --silent --expression --file --regexp-extended --separate --null-data
    --unbuffered --line-length --posix --debug --sandbox"""
)


def sed(words: Sequence[Word], at: int, ctx: Context) -> list[Found]:
    args = parse(words[at:], SED_VALUES)
    if args.has({"-i", "--in-place"}):
        return [found(Risk.WRITE, words, "edits files in place")]
    unknown = next((name for name, _ in args.options if not matches(name, SED_OPTIONS)), None)
    if unknown or args.unknown:
        return [found(Risk.WRITE, words, f"has an option the console does not know (`{unknown or '?'}`)")]
    if args.has({"-f", "--file"}):
        return [found(Risk.WRITE, words, "runs a sed script from a file the console cannot read")]
    scripts = [v for name, v in args.options if name in ("-e", "--expression") and v] or args.positional[:1]
    ctx.reparsed(scripts, "sed")
    for script in scripts:
        if script.text is None or sed_writes(script.text):
            return [found(Risk.WRITE, words, "runs a sed script that can write files or run commands (`w`, `e`)")]
    return []


def sed_writes(script: str) -> bool:
    """Whether a sed script has a `w`/`W`/`e` command or an `s///w` / `s///e` flag. Patterns and replacements are
    left out; any other `w`, `W` or `e` (a label too) counts, which errs towards writing."""
    rest, i = [], 0
    while i < len(script):
        char = script[i]
        if char in "sy" and i + 1 < len(script) and script[i + 1] not in "\n;}":
            i = _skip_delimited(script, i + 2, script[i + 1], 2)
            continue
        if char == "/" or (char == "\\" and i + 1 < len(script)):
            delimiter = "/" if char == "/" else script[i + 1]
            i = _skip_delimited(script, i + (1 if char == "/" else 2), delimiter, 1)
            continue
        rest.append(char)
        i += 1
    return bool(re.search(r"[wWe]", "".join(rest)))


def _skip_delimited(text: str, i: int, delimiter: str, parts: int) -> int:
    """The index after `parts` delimiter-ended parts starting at i (backslash escapes skipped)."""
    while i < len(text) and parts:
        if text[i] == "\\":
            i += 2
            continue
        parts -= text[i] == delimiter
        i += 1
    return i


# -- find ---------------------------------------------------------------------------------------------------------

FIND_VALUES = split(
    """-name -iname -path -ipath -wholename -iwholename -regex -iregex -regextype -type -xtype -size -mtime -mmin
    -atime -amin -ctime -cmin -newer -anewer -cnewer -user -group -uid -gid -perm -maxdepth -mindepth -links -inum
    -samefile -printf -fstype -used -context -lname -ilname -D -O"""
)
FIND_FLAGS = split(
    """-print -print0 -ls -prune -quit -not -a -o -and -or -true -false -empty -readable -writable -executable
    -follow -xdev -mount -noleaf -depth -daystart -L -H -P -nouser -nogroup -ignore_readdir_race
    -noignore_readdir_race -nowarn -warn"""
)
FIND_RUNS = split("-exec -execdir -ok -okdir")
FIND_WRITES = each("writes a file", "-fprint -fprint0 -fprintf -fls")


def find(words: Sequence[Word], at: int, ctx: Context) -> list[Found]:
    results: list[Found] = []
    i = at
    while i < len(words):
        text = words[i].text
        if words[i].option_like is None:
            return [found(Risk.WRITE, words, f"has `{words[i].shown}`, which could be an action like -delete")]
        if text == "-delete":
            return [found(Risk.DESTRUCTIVE, words, "deletes")]
        if text is not None and text in FIND_WRITES:
            results.append(found(Risk.WRITE, words, FIND_WRITES[text]))
        elif text in FIND_RUNS:
            end = next((j for j in range(i + 1, len(words)) if words[j].text in (";", "+")), len(words))
            inner = list(words[i + 1 : end])
            mode: Mode = "interactive" if text.startswith("-ok") else "run"
            results.append(found(Risk.WRITE, words, "runs a command for every file", mode))
            results += ctx.command(inner) if inner else []
            i = end
        elif text in FIND_VALUES:
            i += 1
        elif text and text.startswith("-") and text not in FIND_FLAGS:
            results.append(found(Risk.WRITE, words, f"has an option the console does not know (`{text}`)"))
        i += 1
    return results


# -- curl and wget ------------------------------------------------------------------------------------------------

CURL_VALUES = split(
    """-X -d -F -T -o -D -c -b -H -u -A -e -m -w -x -U -E -r -K -Y -y -z -C -Q --request --data --data-raw
    --data-binary --data-urlencode --data-ascii --json --form --form-string --upload-file --output --dump-header
    --cookie-jar --cookie --header --user --user-agent --referer --max-time --connect-timeout --write-out --proxy
    --proxy-user --cacert --capath --cert --key --cert-type --key-type --pass --resolve --connect-to --retry
    --retry-delay --retry-max-time --range --config --url --speed-limit --speed-time --limit-rate --interface
    --local-port --max-filesize --max-redirs --oauth2-bearer --output-dir --trace --trace-ascii --stderr
    --etag-save --etag-compare --hsts --alt-svc --libcurl --time-cond --unix-socket --abstract-unix-socket
    --dns-servers --noproxy --proxy-header --request-target --expect100-timeout --keepalive-time --tls-max
    --ciphers --pinnedpubkey --aws-sigv4 --url-query --proto --proto-redir --continue-at --quote"""
)
CURL_READS = split(
    """-s -S -f -L -k -v -i -I -G -N -q -g -j -n -4 -6 -# -Z -H -u -A -e -m -w -x -U -E -r -Y -y -z -b --silent
    --show-error --fail --fail-with-body --location --location-trusted --insecure --verbose --include --head --get
    --no-buffer --globoff --compressed --http1.0 --http1.1 --http2 --http3 --raw --path-as-is --no-progress-meter
    --progress-bar --netrc --netrc-optional --anyauth --basic --digest --ntlm --negotiate --tcp-nodelay
    --no-keepalive --ssl --ssl-reqd --tlsv1.2 --tlsv1.3 --proto --proto-redir --max-redirs --retry-connrefused
    --retry-all-errors --parallel --header --user --user-agent --referer --max-time --connect-timeout --write-out
    --proxy --proxy-user --cacert --capath --cert --key --cert-type --key-type --pass --resolve --connect-to --retry
    --retry-delay --retry-max-time --range --url --speed-limit --speed-time --limit-rate --interface --local-port
    --max-filesize --oauth2-bearer --cookie --unix-socket --abstract-unix-socket --dns-servers --noproxy
    --proxy-header --request-target --expect100-timeout --keepalive-time --tls-max --ciphers --pinnedpubkey
    --aws-sigv4 --url-query --time-cond --etag-compare -X -o -D --request --output --dump-header"""
)
CURL_SENDS = split(
    """-d -F -T --data --data-raw --data-binary --data-urlencode --data-ascii --json --form --form-string
    --upload-file"""
)
CURL_FILES = split("-o -D --output --dump-header")


def curl(words: Sequence[Word], at: int, ctx: Context) -> list[Found]:
    args = parse(words[at:], CURL_VALUES)
    for name, value in args.options:
        target = value.text if value else None
        if name in CURL_SENDS:
            return [found(Risk.WRITE, words, "sends data")]
        if name in ("-X", "--request") and target not in ("GET", "HEAD"):
            return _destructive_path(words, args.positional) or [
                found(Risk.WRITE, words, f"sends a {value.shown if value else '?'} request")
            ]
        if name in CURL_FILES and target not in DEVICES:
            return [found(Risk.WRITE, words, "writes a file")]
        if name not in CURL_READS:
            return [found(Risk.WRITE, words, f"has an option the console does not know (`{name}`)")]
    if args.unknown:
        return [found(Risk.WRITE, words, f"has `{args.unknown[0].shown}`, which could be an option that writes")]
    return []


def _destructive_path(words: Sequence[Word], urls: Sequence[Word]) -> list[Found]:
    """A request that changes something whose URL path says it destroys (`/api/admin/cache-clear`,
    `/force-logout-all`): destructive, with the word."""
    for url in urls:
        path = (url.text or "").split("://", 1)[-1].partition("/")[2].lower()
        word = next((w for w in _PATH_TOKEN.split(path) if w in PATH_VERBS), None)
        if word:
            return [found(Risk.DESTRUCTIVE, words, f"sends a request whose path says `{word}`")]
    return []


_PATH_TOKEN = re.compile(r"[^a-z0-9]+")
PATH_VERBS = split(
    """delete drop truncate flush purge clear reset wipe destroy remove terminate kill logout revoke rollback"""
)


WGET_VALUES = split(
    """-O -o -a -P -t -T -U -e -i -w -Q -B -l --output-document --output-file --append-output --directory-prefix
    --tries --timeout --user-agent --header --post-data --post-file --method --body-data --body-file --execute
    --input-file --user --password --http-user --http-password --wait --quota --limit-rate --ca-certificate
    --certificate --private-key --base --referer --max-redirect --level"""
)
WGET_READS = split(
    """-O -q -S -v -nv -4 -6 -T -t -U --output-document --quiet --server-response --verbose --no-verbose --spider
    --no-check-certificate --timeout --tries --user-agent --header --user --password --http-user --http-password
    --ca-certificate --certificate --private-key --max-redirect --content-on-error --limit-rate --referer"""
)


def wget(words: Sequence[Word], at: int, ctx: Context) -> list[Found]:
    args = parse(words[at:], WGET_VALUES)
    output = args.value({"-O", "--output-document"})
    if not (args.has({"--spider"}) or (output is not None and output.text in DEVICES)):
        return [found(Risk.WRITE, words, "downloads to a file (read only with `-O -` or `--spider`)")]
    unknown = next((name for name, _ in args.options if not matches(name, WGET_READS)), None)
    if unknown or args.unknown:
        return [found(Risk.WRITE, words, f"has an option the console does not know (`{unknown or '?'}`)")]
    return []


# -- small ones ---------------------------------------------------------------------------------------------------


def date(words: Sequence[Word], at: int, ctx: Context) -> list[Found]:
    args = parse(words[at:], split("-d -r -f -I --date --reference --file"))
    if args.has({"-s", "--set"}) or any(not (w.text or "+").startswith("+") for w in args.positional):
        return [found(Risk.WRITE, words, "sets the clock")]
    return []


def ping(words: Sequence[Word], at: int, ctx: Context) -> list[Found]:
    args = parse(words[at:], split("-c -w -W -i -I -s -t -p -Q -l -m -M -S -T"))
    if not args.has({"-c", "-w"}):
        return [found(Risk.READ, words, "never ends without -c", "follow")]
    return []


def tee(words: Sequence[Word], at: int, ctx: Context) -> list[Found]:
    files = [w for w in parse(words[at:], frozenset()).positional if w.text not in DEVICES]
    return [found(Risk.WRITE, words, "writes a file")] if files else []


def iptables(words: Sequence[Word], at: int, ctx: Context) -> list[Found]:
    args = parse(words[at:], split("-t -A -I -R -N -P -E -s -d -j -p -i -o -m -g --table --dport --sport"))
    if args.has(split("-F -D -X -Z --flush --delete --delete-chain --zero")):
        return [found(Risk.DESTRUCTIVE, words, "deletes firewall rules")]
    if args.has(split("-L -S --list --list-rules")) and not args.has(split("-A -I -R -N -P -E")):
        return []
    return [found(Risk.WRITE, words, "changes firewall rules")]


def top(words: Sequence[Word], at: int, ctx: Context) -> list[Found]:
    if parse(words[at:], split("-n -d -p -u -o -w")).has({"-b", "--batch"}):
        return []
    return [found(Risk.READ, words, "redraws the terminal", "interactive", endless=True)]


def docker_stats(words: Sequence[Word], at: int, ctx: Context) -> list[Found]:
    if parse(words[at:], split("--format")).has({"--no-stream"}):
        return []
    what = "redraws the terminal until stopped (read with --no-stream)"
    return [found(Risk.READ, words, what, "interactive", endless=True)]


def git_revert(words: Sequence[Word], at: int, ctx: Context) -> list[Found]:
    """A new commit undoing another: write; it opens an editor for the message unless told not to."""
    if parse(words[at:], split("-m -s --mainline --strategy -X --strategy-option")).has(
        split("--no-edit -n --no-commit --abort --quit --skip --continue")
    ):
        return [found(Risk.WRITE, words, "commits a revert")]
    return [found(Risk.WRITE, words, "commits a revert (it opens an editor for the message)", "interactive")]


def vercel_env_rm(words: Sequence[Word], at: int, ctx: Context) -> list[Found]:
    """Removes a variable: destructive; it asks to confirm unless given --yes."""
    if parse(words[at:], split("-t -S --token --scope")).has(split("-y --yes")):
        return [found(Risk.DESTRUCTIVE, words, "removes a variable")]
    return [found(Risk.DESTRUCTIVE, words, "removes a variable (it asks to confirm)", "interactive")]


def d1_execute(words: Sequence[Word], at: int, ctx: Context) -> list[Found]:
    """`wrangler d1 execute DB --command SQL` is judged as an SQL step is; `--file` runs SQL nobody judged."""
    args = parse(words[at:], split("--command --file --env -e -c --config --persist-to --database"))
    command, file = args.value({"--command"}), args.value({"--file"})
    if file is not None or command is None:
        if args.has({"--local"}):
            return [found(Risk.WRITE, words, "runs an SQL file on the local development database")]
        return [found(Risk.DESTRUCTIVE, words, "runs an SQL file on the database")]
    if command.text is None:
        return [found(Risk.WRITE, words, "runs SQL that is not written in the script")]
    from console.judge.sql import judge_sql

    risk, reason = judge_sql(command.text)
    return [] if risk is Risk.READ else [found(risk, words, reason.partition(": ")[2] or reason)]


def pg_restore(words: Sequence[Word], at: int, ctx: Context) -> list[Found]:
    """Restores into a database, unless it only lists an archive's contents (`-l`/`--list`) without `-d`."""
    args = parse(words[at:], split("-d -f -h -p -U -n -t -j -L -F --dbname --file --host --port --username"))
    if args.has(split("-l --list")) and args.value({"-d", "--dbname"}) is None:
        return []
    return [found(Risk.DESTRUCTIVE, words, "restores into a database")]


def netcat(words: Sequence[Word], at: int, ctx: Context) -> list[Found]:
    """`nc -z HOST PORT` only checks that a port answers; anything else opens a connection and sends stdin."""
    args = parse(words[at:], split("-w -p -s -i -q -W -X -x"))
    if args.has(split("-z")) and not args.has(split("-l -e -c")):
        return []
    return [found(Risk.WRITE, words, "opens a connection and sends to it (read only with -z)")]


def git_push(words: Sequence[Word], at: int, ctx: Context) -> list[Found]:
    args = parse(words[at:], split("-o --push-option --repo --receive-pack --exec"))
    if args.has(split("-f --force --force-with-lease --force-if-includes --mirror")) or any(
        (w.text or "").startswith("+") for w in args.positional
    ):
        return [found(Risk.DESTRUCTIVE, words, "force-pushes")]
    if args.has(split("-d --delete --prune")) or any((w.text or "").startswith(":") for w in args.positional):
        return [found(Risk.DESTRUCTIVE, words, "deletes remote branches or tags")]
    return [found(Risk.WRITE, words, "pushes")]


GIT_LISTS = split(
    """-a -r -v -l --all --remotes --verbose --list --show-current --no-color --color --contains --no-contains
    --merged --no-merged --sort --format --column --no-column --points-at -n --ignore-case"""
)


def git_list(what: str) -> Check:
    """`git branch` / `git tag`: a read when it only lists (`-l` may take patterns); anything else writes."""

    def judge(words: Sequence[Word], at: int, ctx: Context) -> list[Found]:
        args = parse(words[at:], split("--contains --no-contains --merged --no-merged --sort --format --points-at"))
        if args.has(split("-d -D --delete")):
            return [found(Risk.DESTRUCTIVE, words, f"deletes {what}")]
        listing = args.has({"-l", "--list"})
        if any(not matches(name, GIT_LISTS) for name, _ in args.options) or (args.positional and not listing):
            return [found(Risk.WRITE, words, f"creates or changes {what}")]
        return []

    return judge


def gzip(words: Sequence[Word], at: int, ctx: Context) -> list[Found]:
    args = parse(words[at:], split("-S --suffix"))
    if args.has(split("-c -t -l --stdout --to-stdout --test --list")) or not args.positional:
        return []
    return [found(Risk.WRITE, words, "replaces the files it packs or unpacks")]


def nslookup(words: Sequence[Word], at: int, ctx: Context) -> list[Found]:
    return [] if words[at:] else [found(Risk.READ, words, "prompts", "interactive")]
