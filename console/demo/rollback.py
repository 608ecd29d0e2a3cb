#!/usr/bin/env python3
"""Roll the demo service back to an earlier version (the demo config's `rollback` command action).

rollback.py --url http://127.0.0.1:PORT --environment demo --version v1.2.2 [--timeout 30] [--drain 1]

Standard library only: it runs as a separate process with whatever python3 is on PATH.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

REQUEST_TIMEOUT = 5.0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True, help="base URL of the demo service")
    parser.add_argument("--environment", required=True)
    parser.add_argument("--version", required=True, help="release to roll back to, e.g. v1.2.2")
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds to wait for recovery")
    parser.add_argument("--drain", type=float, default=1.0, help="seconds spent draining traffic")
    args = parser.parse_args(argv)
    base = args.url.rstrip("/")
    try:
        before = call("GET", f"{base}/admin/state")
        say(f"rolling back {args.environment} from {before.get('version')} to {args.version}")
        say("draining traffic...")
        time.sleep(args.drain)
        say(f"switching to {args.version}...")
        query = urllib.parse.urlencode({"version": args.version})
        call("POST", f"{base}/admin/rollback?{query}")
        say("waiting for health checks...")
        deadline = time.monotonic() + args.timeout
        while (state := call("GET", f"{base}/admin/state")).get("phase") != "recovered":
            if time.monotonic() > deadline:
                say(f"rollback: not recovered after {args.timeout:g}s (phase {state.get('phase')})", err=True)
                return 1
            time.sleep(0.25)
        health = call("GET", f"{base}/api/health")
    except RollbackError as exc:
        say(f"rollback: {exc}", err=True)
        return 1
    say(f"health check {health.get('status')}: {args.environment} now runs {state.get('version')}")
    return 0


class RollbackError(Exception):
    """The service could not be reached or refused the request."""


def call(method: str, url: str) -> dict[str, Any]:
    """One JSON request; any failure becomes a RollbackError with a readable message."""
    request = urllib.request.Request(url, method=method, headers={"Accept": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=REQUEST_TIMEOUT) as response:
            return json.load(response)
    except urllib.error.HTTPError as exc:
        raise RollbackError(f"{method} {url}: HTTP {exc.code} {exc.read(500).decode(errors='replace')}") from None
    except (urllib.error.URLError, OSError) as exc:
        raise RollbackError(f"cannot reach {url}: {getattr(exc, 'reason', exc)}") from None
    except ValueError:
        raise RollbackError(f"{method} {url}: the answer is not JSON") from None


def say(line: str, err: bool = False) -> None:
    print(line, file=sys.stderr if err else sys.stdout, flush=True)


if __name__ == "__main__":
    sys.exit(main())
