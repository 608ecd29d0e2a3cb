"""The source protocol and the one registry table: a config section's row says everything the console does with it.

A row names the section, its builder, its reach check, its pane and where its pane key comes from, how conditions and
look steps name it (with the check names it offers), the filter a look step may give its pane, how `for` applies and
the built-in actions it offers. The feeds, `status`, `check`, the dashboard's panes and keys, the wall's panes, the
condition language, the playbook loader and checker, the sustained thresholds and the built-in actions are all
derived from this table.
Builders, reach checks, widgets, filter grammars and actions are named as "module:attribute" strings and imported
only when used (by the layer that uses them), so an unconfigured driver or widget is never imported.
"""

from __future__ import annotations

import asyncio
import importlib
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from console.clock import Clock
from console.config import Config
from console.config.keys import PANE_KEY_DIGITS
from console.models.logs import CRIT_FACTOR
from console.sustain import Hold


class Source(Protocol):
    """A polled feed: `poll()` returns a model with `checks()` and never raises for a target that is down."""

    @property
    def key(self) -> str: ...

    @property
    def interval(self) -> float: ...

    @property
    def timeout(self) -> float | None: ...  # None: its poll bounds itself (an HTTP target's request, by `fetch`)

    def poll(self) -> Awaitable[Any]: ...


class StreamSource(Protocol):
    """A streamed feed (logs): batches of lines from `stream()`, and a `stats()` model with `checks()`."""

    def stream(self) -> AsyncIterator[list[Any]]: ...

    def stats(self) -> Any: ...


@dataclass(frozen=True)
class Feed:
    """A `Source` made of a key, an interval, a timeout and a poll coroutine (one per target)."""

    key: str
    interval: float
    timeout: float | None
    poll: Callable[[], Awaitable[Any]]


@dataclass
class Feeds:
    """Every source built from a config: polled ones, streamed ones, and what must be closed on exit."""

    polled: list[Source] = field(default_factory=list)
    streams: list[StreamSource] = field(default_factory=list)
    closers: list[Callable[[], Awaitable[None]]] = field(default_factory=list)
    http_client: Any = None  # shared by the HTTP sources (console.sources.http.shared_client)
    live: Any = None  # the LiveState the feeds write to, for a feed that ranks against it (the change ledger)
    journals: bool = True  # False on the wall: a feed that would journal what it reads (the ledger) keeps it in memory

    async def aclose(self) -> None:
        for close in self.closers:
            try:
                await close()
            except Exception:  # closing is best effort on the way out
                pass


@dataclass(frozen=True)
class PaneSpec:
    """The dashboard pane of a section: its title, its widget ("module:Class") and the widget's arguments."""

    title: str
    widget: str
    arguments: Callable[[Config], dict[str, Any]] = lambda config: {}
    shown: Callable[[Config], bool] = lambda config: True  # a tiles section may have a pane for some configs
    on_wall: bool = False  # the war-room wall shows it too, read-only (and runs its feed, which it may not otherwise)


@dataclass(frozen=True)
class Conditions:
    """How conditions (`alerts.firing > 0`) and look steps (`pane = "alerts"`) name a section, and its checks.

    `name` is the section's word there; `checks` gives the check names the section's settings offer (its targets'
    names, or the fixed checks of a server); `labelled`, when given, is a "module:function" taking (the section's
    model, a check name, label matchers) and returning that check over what matches (`alerts.firing{severity=
    "critical"}`), or None when the check takes no labels. A section's checks carry the section as their `source`."""

    name: str
    checks: Callable[[Any], Iterable[str]]
    labelled: str | None = None
    units: Callable[[Any], dict[str, str]] = lambda settings: {}  # each check's number's unit ("" a count)
    # each check's warn and crit, in its unit (a chart draws them as lines); a check not named has none
    limits: Callable[[Any], dict[str, tuple[float | None, float | None]]] = lambda settings: {}


@dataclass(frozen=True)
class SourceKind:
    """One row of the registry: a config section and everything the console does with it."""

    section: str
    configured: Callable[[Config], bool]
    build: str  # "module:function" taking (config, clock, feeds) and adding its sources to feeds
    reach: str  # "module:function" taking config and returning reach coroutines for `check`
    conditions: Conditions
    pane: PaneSpec | None = None  # None: shown as tiles in the health grid, or not shown
    in_status: bool = True  # `status` polls it once (streams cannot be polled once)
    tiles: bool = False  # its checks are health-grid tiles
    look_filter: str | None = None  # "module:function" raising ValueError for text its pane cannot filter by
    look_presets: str | None = None  # "module:attribute": names a look step may give instead (the pane shows each)
    sustain: Literal["targets", "section"] | None = None  # `for` on each target (`health:api`) or the whole section
    actions: str | None = None  # "module:function" returning the built-in actions the section offers


def _has(section: str) -> Callable[[Config], bool]:
    return lambda config: bool(getattr(config, section))


def _set(section: str) -> Callable[[Config], bool]:
    return lambda config: getattr(config, section) is not None


def _target_names(targets: list[Any]) -> set[str]:
    return {target.name for target in targets}


def _fixed(*names: str) -> Callable[[Any], set[str]]:
    return lambda settings: set(names)


REGISTRY: tuple[SourceKind, ...] = (
    SourceKind(
        "health",
        _has("health"),
        "console.sources.health:build",
        "console.sources.reach:health",
        Conditions(
            "health",
            _target_names,
            units=lambda targets: {t.name: "ms" for t in targets},
            limits=lambda targets: {t.name: (t.warn_ms, t.crit_ms) for t in targets},
        ),
        tiles=True,
        sustain="targets",
    ),
    SourceKind(
        "metric",
        _has("metric"),
        "console.sources.metrics:build",
        "console.sources.reach:metric",
        Conditions(
            "metric",
            _target_names,
            units=lambda targets: {t.name: t.unit for t in targets},
            limits=lambda targets: {t.name: (t.warn, t.crit) for t in targets},
        ),
        PaneSpec(
            "Top",
            "widgets.top_table:TopTables",
            lambda config: {"names": [t.name for t in config.metric if t.kind == "top"]},
            shown=lambda config: any(t.kind == "top" for t in config.metric),
        ),
        tiles=True,
        look_filter="console.logfilter:table_filter",
        sustain="targets",
    ),
    SourceKind(
        "logs",
        _has("logs"),
        "console.sources.logs:build",
        "console.sources.reach:logs",
        Conditions(
            "logs",
            _target_names,
            limits=lambda logs: {
                log.name: (log.error_spike_per_min, log.error_spike_per_min * CRIT_FACTOR) for log in logs
            },
        ),
        PaneSpec(
            "Logs",
            "widgets.log_pane:LogPane",
            lambda config: {
                "sources": [log.name for log in config.logs],
                "max_lines": sum(log.max_lines for log in config.logs),
            },
        ),
        in_status=False,
        look_filter="console.logfilter:compile_filter",
    ),
    SourceKind(
        "postgres",
        _set("postgres"),
        "console.sources.postgres:build",
        "console.sources.reach:postgres",
        Conditions(
            "postgres",
            _fixed("connection", "connections", "long-running", "blocked", "cache hit"),
            units=lambda settings: {"connections": "%", "cache hit": "%"},
            limits=lambda settings: {"connections": (settings.pool_warn_pct, settings.pool_crit_pct)},
        ),
        PaneSpec("PostgreSQL", "widgets.postgres_pane:PostgresPane"),
        look_filter="console.logfilter:table_filter",
        look_presets="console.models.postgres:LOOK_PRESETS",
        sustain="section",
        actions="actions.postgres:postgres_actions",
    ),
    SourceKind(
        "redis",
        _set("redis"),
        "console.sources.redis:build",
        "console.sources.reach:redis",
        Conditions(
            "redis",
            _fixed("ping", "memory", "hit ratio"),
            units=lambda settings: {"ping": "ms", "memory": "%", "hit ratio": "%"},
            limits=lambda settings: {
                "memory": (settings.memory_warn_pct, settings.memory_crit_pct),
                "hit ratio": (settings.hit_rate_warn_pct, settings.hit_rate_crit_pct),
            },
        ),
        PaneSpec("Redis", "widgets.redis_pane:RedisPane"),
        sustain="section",
        actions="actions.redis:redis_actions",
    ),
    SourceKind(
        "alertmanager",
        _set("alertmanager"),
        "console.sources.alertmanager:build",
        "console.sources.reach:alertmanager",
        Conditions("alerts", _fixed("firing"), labelled="console.models.alerts:labelled_check"),
        PaneSpec("Alerts", "widgets.alerts_pane:AlertsPane"),
        look_filter="console.models.alerts:parse_matchers",
        actions="actions.alertmanager:alertmanager_actions",
    ),
    SourceKind(
        "changes",
        _has("changes"),
        "console.changes.ledger:build",
        "console.changes.ledger:reach",
        Conditions("changes", _fixed("suspects")),
        PaneSpec("Changes", "widgets.changes_pane:ChangesPane", on_wall=True),
        in_status=False,  # it ranks against the live state as it changes; `changes` is its one-shot command
    ),
)
BY_NAME: dict[str, SourceKind] = {kind.conditions.name: kind for kind in REGISTRY}  # as conditions and looks say it
BY_SECTION: dict[str, SourceKind] = {kind.section: kind for kind in REGISTRY}
# The dashboard's pane keys: one per row with a pane and one for the timeline, at most 1..9 (the binding ids `[keys]`
# knows: PANE_KEY_DIGITS); a pane takes the key of its place among the panes shown, which follow the rows' order.
PANE_KEYS = PANE_KEY_DIGITS[: sum(kind.pane is not None for kind in REGISTRY) + 1]


def resolve(reference: str) -> Any:
    """The attribute a "module:attribute" string names (imports the module)."""
    module, _, attribute = reference.partition(":")
    return getattr(importlib.import_module(module), attribute)


def configured(config: Config) -> list[SourceKind]:
    """The registry rows this config has sections for, in registry order."""
    return [kind for kind in REGISTRY if kind.configured(config)]


def known_checks(config: Config) -> dict[str, set[str]]:
    """The check names conditions may use, per configured section."""
    return {kind.section: set(kind.conditions.checks(getattr(config, kind.section))) for kind in configured(config)}


def check_units(config: Config) -> dict[str, dict[str, str]]:
    """The unit of each check's number (a condition's threshold is converted to it), per configured section."""
    return {kind.section: kind.conditions.units(getattr(config, kind.section)) for kind in configured(config)}


def check_limits(config: Config) -> dict[str, tuple[float | None, float | None]]:
    """Every configured check's warn and crit by check key (`health:api`), for the lines on its chart."""
    return {
        f"{kind.conditions.name}:{name}": limits
        for kind in configured(config)
        for name, limits in kind.conditions.limits(getattr(config, kind.section)).items()
    }


def sustain_rules(config: Config) -> dict[str, Hold]:
    """The `for` / `clear_for` of every section that has them, keyed as `Sustain` matches checks: by check key
    (`health:api`) for a section of targets, by source (`postgres`) for a server."""
    rules: dict[str, Hold] = {}
    for kind in configured(config):
        settings = getattr(config, kind.section)
        if kind.sustain == "targets":
            rules.update({f"{kind.section}:{t.name}": t.hold for t in settings if t.hold is not None})
        elif kind.sustain == "section" and settings.hold is not None:
            rules[kind.section] = settings.hold
    return rules


def look_problem(name: str, text: str) -> str | None:
    """Why `text` is not a filter a look step can give the pane of the section named `name` (None when it is)."""
    kind = BY_NAME[name]
    if kind.look_presets is not None and text in resolve(kind.look_presets):
        return None
    if kind.look_filter is None:
        return f"the {name} pane takes no filter"
    try:
        resolve(kind.look_filter)(text)
    except ValueError as exc:
        return str(exc)
    return None


def on_the_wall(config: Config) -> list[SourceKind]:
    """The configured rows whose pane the war-room wall shows (beside its tiles and timeline)."""
    return [
        kind for kind in configured(config) if kind.pane is not None and kind.pane.on_wall and kind.pane.shown(config)
    ]


def build_feeds(
    config: Config, clock: Clock, *, status_only: bool = False, wall: bool = False, live: Any = None
) -> Feeds:
    """Every source of the configured sections: only those `status` polls with `status_only`; on the `wall`, those
    and the ones whose pane it shows, none journaling. `live` is the LiveState their models go to, for a feed that
    reads it."""
    feeds = Feeds(live=live, journals=not wall)
    shown = on_the_wall(config) if wall else []
    for kind in configured(config):
        if kind.in_status or not (status_only or wall) or kind in shown:
            resolve(kind.build)(config, clock, feeds)
    return feeds


PollError = Callable[[str, Exception], None]


async def poll_once(source: Source, on_error: PollError | None = None) -> Any | None:
    """One poll under the source's timeout; None if its driver got stuck past it, or raised (a fault of the console,
    not of the target, which sources report as a model: `on_error` hears it with the feed's key). Never raises, so
    one feed cannot stop the others polled with it. A source without a timeout bounds its own poll: a second
    deadline around an HTTP request that `fetch` already bounds cost every probe a timer per poll."""
    try:
        if source.timeout is None:
            return await source.poll()
        async with asyncio.timeout(source.timeout):
            return await source.poll()
    except TimeoutError:
        return None
    except Exception as exc:
        if on_error is not None:
            on_error(source.key, exc)
        return None
