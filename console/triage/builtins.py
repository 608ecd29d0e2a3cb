"""Playbooks that come with the console, for what it measures itself; each is offered only when every source its
`when` reads is configured (PostgreSQL, Redis, logs)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from console.config import Config
from console.sources.base import configured
from console.triage.conditions import names, parse
from console.triage.playbook import Playbook, load_playbooks

ORIGIN = "built-in"

_PG_CONNECTIONS: dict[str, Any] = {
    "name": "pg-connections",
    "title": "PostgreSQL connections exhausted",
    "when": "postgres.connections is unhealthy",
    "severity": "SEV-2",
    "fixes": ["postgres.connections"],
    "steps": [
        {
            "id": "usage",
            "kind": "check",
            "title": "Connections against max_connections",
            "condition": "postgres.connections is unhealthy",
            "on_fail": "recovered",
        },
        {"id": "idle", "kind": "look", "title": "Idle sessions", "pane": "postgres", "filter": "idle"},
        {
            "id": "idle-in-xact",
            "kind": "look",
            "title": "Sessions idle in a transaction",
            "pane": "postgres",
            "filter": "idle in tx",
        },
        {
            "id": "decide",
            "kind": "ask",
            "question": "Terminate idle sessions to free connections?",
            "choices": [
                {"label": "idle only", "next": "kill"},
                {"label": "idle and idle in transaction", "next": "kill-xact"},
                {"label": "no", "next": "done"},
            ],
        },
        {"id": "kill", "kind": "action", "action": "kill-idle", "next": "verify"},
        {"id": "kill-xact", "kind": "action", "action": "kill-idle", "params": {"include_idle_in_transaction": True}},
        {
            "id": "verify",
            "kind": "verify",
            "title": "Connections back under the warn level",
            "condition": "postgres.connections is ok",
            "within": "5m",
            "for": "1m",
            "on_pass": "update",
            "on_fail": "decide",
        },
        {"id": "update", "kind": "update", "next": "done"},
        {"id": "recovered", "kind": "done", "outcome": "connections already under the warn level"},
    ],
}

_PG_LOCKS: dict[str, Any] = {
    "name": "pg-locks",
    "title": "Slow queries and lock contention",
    "when": "postgres.blocked > 0 or postgres.long-running > 0",
    "severity": "SEV-3",
    "fixes": ["postgres.blocked", "postgres.long-running"],
    "steps": [
        {
            "id": "blocked",
            "kind": "check",
            "title": "Sessions waiting on locks",
            "condition": "postgres.blocked > 0",
            "on_fail": "slow",
        },
        {
            "id": "chain",
            "kind": "look",
            "title": "The blocked chain and its top blocker",
            "pane": "postgres",
            "filter": "blocked",
        },
        {
            "id": "decide",
            "kind": "ask",
            "question": "What to do with the top blocker?",
            "choices": [
                {"label": "cancel its query", "next": "cancel"},
                {"label": "terminate its session", "next": "terminate"},
                {"label": "leave it", "next": "done"},
            ],
        },
        {
            "id": "cancel",
            "kind": "action",
            "action": "cancel-query",
            "params": {"pid": "{postgres.top_blocker.pid}"},
            "next": "verify",
        },
        {"id": "terminate", "kind": "action", "action": "terminate", "params": {"pid": "{postgres.top_blocker.pid}"}},
        {
            "id": "verify",
            "kind": "verify",
            "title": "No session blocked",
            "condition": "postgres.blocked == 0",
            "within": "2m",
            "for": "30s",
            "on_pass": "update",
            "on_fail": "decide",
        },
        {"id": "update", "kind": "update", "next": "done"},
        {"id": "slow", "kind": "look", "title": "Long-running queries", "pane": "postgres", "filter": "long"},
        {
            "id": "slow-decide",
            "kind": "ask",
            "question": "Cancel the longest-running query?",
            "choices": [{"label": "cancel it", "next": "cancel-slow"}, {"label": "leave it", "next": "done"}],
        },
        {
            "id": "cancel-slow",
            "kind": "action",
            "action": "cancel-query",
            "params": {"pid": "{postgres.longest_query.pid}"},
        },
        {
            "id": "verify-slow",
            "kind": "verify",
            "title": "No long-running query",
            "condition": "postgres.long-running == 0",
            "within": "2m",
            "on_pass": "update",
            "on_fail": "slow-decide",
        },
    ],
}

_CACHE: dict[str, Any] = {
    "name": "redis-degraded",
    "title": "Cache degraded",
    "when": 'redis.ping is down or redis.memory is unhealthy or redis."hit ratio" is unhealthy',
    "severity": "SEV-3",
    "fixes": ["redis.memory"],
    "steps": [
        {
            "id": "reachable",
            "kind": "check",
            "title": "Redis answers PING",
            "condition": "redis.ping is down",
            "on_pass": "down",
            "on_fail": "memory",
        },
        {
            "id": "down",
            "kind": "look",
            "title": "Redis is down: check the server and its logs",
            "pane": "redis",
            "next": "update",
        },
        {
            "id": "memory",
            "kind": "check",
            "title": "Memory near maxmemory",
            "condition": "redis.memory is unhealthy",
            "on_fail": "hits",
        },
        {"id": "keys", "kind": "look", "title": "Memory, evictions and the biggest key spaces", "pane": "redis"},
        {
            "id": "pattern",
            "kind": "ask",
            "question": "Which keys may be flushed (a Redis MATCH pattern, e.g. session:*)?",
            "capture": "pattern",
        },
        {"id": "flush", "kind": "action", "action": "flush-cache", "params": {"pattern": "{pattern}"}},
        {
            "id": "verify",
            "kind": "verify",
            "title": "Memory back under the warn level",
            "condition": "redis.memory is ok",
            "within": "5m",
            "for": "30s",
            "next": "update",
        },
        {
            "id": "hits",
            "kind": "look",
            "title": "Hit ratio low: recent evictions and slow commands",
            "pane": "redis",
            "next": "update",
        },
        {"id": "update", "kind": "update"},
    ],
}

_LOG_SPIKE: dict[str, Any] = {
    "name": "log-errors",
    "title": "Log error spike",
    "when": "any logs is warn or any logs is crit",
    "severity": "SEV-3",
    "steps": [
        {"id": "errors", "kind": "look", "title": "Error lines", "pane": "logs", "filter": "level=error"},
        {
            "id": "note",
            "kind": "ask",
            "question": "What do the errors say (a note for the timeline)?",
            "capture": "finding",
        },
        {"id": "update", "kind": "update"},
    ],
}

BUILT_IN = (_PG_CONNECTIONS, _PG_LOCKS, _CACHE, _LOG_SPIKE)


def builtin_playbooks(config: Config) -> list[Playbook]:
    """The built-in playbooks whose sources this config has."""
    sections = {kind.section for kind in configured(config)}
    return [
        Playbook.model_validate({**definition, "origin": ORIGIN})
        for definition in BUILT_IN
        if {source for source, _ in names(parse(definition["when"]))} <= sections
    ]


def all_playbooks(config: Config, env: Mapping[str, str] | None = None) -> tuple[list[Playbook], list[str]]:
    """Built-ins offered for this config, then the configured ones (a configured name replaces a built-in), then
    the configured Markdown runbooks as playbooks (`[[runbooks]]`; placeholders read from `env`)."""
    from console.triage.runbook_view import runbook_playbooks

    configured, problems = load_playbooks(config)
    runbooks, runbook_problems = runbook_playbooks(config, os.environ if env is None else env)
    names = {book.name for book in configured}
    builtins = [b for b in builtin_playbooks(config) if b.name not in names]
    return builtins + configured + runbooks, problems + runbook_problems
