"""Terminal sessions in code blocks: prompts stripped, commands kept whole (continuations, heredocs), output apart.

A block with prompts is a session: each prompted command is one command, lines without a prompt are its output.
A block without prompts is one script (which `split.py` may cut where it lists separate things). `# ` is a root
prompt only in `console` / `shell-session` blocks and in untagged blocks without `$ ` prompts (in a `bash` block,
and among `$ ` prompts of an untagged block, it is a comment: neither run nor output).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


_VENV = r"(?:\([\w.-]+\)\s+)?"
SHELL_PROMPT = re.compile(
    _VENV + r"(?:[\w.-]+@[\w.-]+(?::\S*)?\s?[$#]|[\w.-]+\s[$#]|\$|➜\s+\S+(?:\s+git:\(\S+\))?(?:\s+✗)?)(?:\s|$)"
)
ROOT_PROMPT = re.compile(r"#\s")
PS2 = re.compile(r">\s?")
PSQL_PROMPT = re.compile(r"[\w.-]+=[#>]\s?")
PSQL_MORE = re.compile(r"[\w.-]+[-('\"][#>]\s?")
HEREDOC = re.compile(r"<<(-?)\s*(['\"]?)([A-Za-z_][\w]*)\2")
SESSION_LANGUAGES = ("console", "shell-session")
KNOWN_COMMANDS = _words(
    """kubectl helm docker podman systemctl journalctl curl wget git npm npx yarn pnpm node python python3 pip psql
    pg_dump pg_restore redis-cli aws gcloud az terraform ssh scp rsync sudo cd ls cat grep egrep tail head less
    echo export env printenv ps top df du free kill pkill service make ansible ansible-playbook vercel wrangler
    nginx tar gzip chmod chown mkdir rm cp mv touch find sed awk jq nc dig nslookup ping traceroute ss netstat
    lsof mysql mongosh mongo heroku flyctl fly cargo go java mvn gradle bundle rake rails set unset source alias
    watch xargs tee sort uniq wc date uptime openssl etcdctl consul vault nomad supervisorctl pm2 prisma"""
)


@dataclass
class Command:
    """One command of a block: its text (prompts stripped), its 0-based line in the block, and its output; a part
    of a split script has the comment that titled it."""

    text: str
    offset: int = 0
    output: list[str] = field(default_factory=list)
    script: bool = False  # the whole of a block without prompts
    title: str = ""


def shell_prompt(line: str, *, root: bool) -> int:
    """How many leading characters of `line` are a shell prompt (0 when none)."""
    match = SHELL_PROMPT.match(line) or (ROOT_PROMPT.match(line) if root else None)
    return match.end() if match else 0


def has_prompts(lines: list[str], *, root: bool) -> bool:
    return any(shell_prompt(line, root=root) for line in lines)


def split_shell(text: str, language: str) -> list[Command]:
    """The commands of a shell block: one per prompted command, or the whole block when it has no prompt."""
    lines = text.split("\n")
    comments = not language and has_prompts(lines, root=False)  # `# text` among `$ ` prompts: a comment
    root = language in SESSION_LANGUAGES or (not language and not comments)
    if not has_prompts(lines, root=root):
        return [Command(text, script=True)] if text.strip() else []
    commands: list[Command] = []
    before: list[str] = []  # output above the first prompt goes with the first command
    i = 0
    while i < len(lines):
        cut = shell_prompt(lines[i], root=root)
        if not cut:
            if not (comments and lines[i].lstrip().startswith("#")):
                (commands[-1].output if commands else before).append(lines[i])
            i += 1
            continue
        start, body = i, [lines[i][cut:]]
        i += 1
        while body[-1].endswith("\\") and i < len(lines):
            more = PS2.match(lines[i])
            body.append(lines[i][more.end() :] if more else lines[i])
            i += 1
        for dash, _, delimiter in HEREDOC.findall("\n".join(body)):
            while i < len(lines):
                body.append(lines[i])
                i += 1
                if (body[-1].lstrip("\t") if dash else body[-1]) == delimiter:
                    break
        if "\n".join(body).strip():
            commands.append(Command("\n".join(body), start))
    if commands:
        commands[0].output[:0] = [line for line in before if line.strip()]
    return commands


def split_psql(text: str) -> list[Command]:
    """The statements of an sql block: one per `db=#` prompt (with its `db->` lines), or the whole block."""
    lines = text.split("\n")
    if not any(PSQL_PROMPT.match(line) for line in lines):
        return [Command(text)] if text.strip() else []
    commands: list[Command] = []
    for i, line in enumerate(lines):
        start, more = PSQL_PROMPT.match(line), PSQL_MORE.match(line)
        if start:
            commands.append(Command(line[start.end() :], i))
        elif more and commands:
            commands[-1].text += "\n" + line[more.end() :]
        elif commands:
            commands[-1].output.append(line)
    return [c for c in commands if c.text.strip()]


def sql_code(text: str) -> str:
    """The SQL of a psql command: meta-command lines (`\\x`, `\\dt`) left out: psql never sends them."""
    return "\n".join(line for line in text.split("\n") if not line.lstrip().startswith("\\"))


def looks_like_commands(text: str) -> bool:
    """Whether an untagged block reads as shell: a prompt, or a first command word the console knows."""
    lines = [line for line in text.split("\n") if line.strip()]
    if has_prompts(lines, root=False):
        return True
    first = next((line.split()[0] for line in lines if not line.lstrip().startswith("#")), "")
    return first in KNOWN_COMMANDS or first.startswith("./")
