"""Throwaway PostgreSQL, Redis, Prometheus and Alertmanager servers on free loopback ports, in temp dirs.

Used by the test suite, the embedded demo and the benchmarks, so it imports neither Textual nor
pytest. Every server that was started and not stopped is stopped at interpreter exit (atexit), so
a crashed test run or a Ctrl+C in the demo leaves no process behind. Servers run in their own
session: a terminal Ctrl+C reaches only their owner, which stops them.
"""

from console.demo.servers.alertmanager import AlertmanagerServer
from console.demo.servers.base import ServerUnavailable, accepts_connections, free_port, process_alive
from console.demo.servers.postgres import PostgresServer, find_pg_bindir
from console.demo.servers.prometheus import PrometheusServer
from console.demo.servers.redis import RedisServer

__all__ = [
    "AlertmanagerServer",
    "PostgresServer",
    "PrometheusServer",
    "RedisServer",
    "ServerUnavailable",
    "accepts_connections",
    "find_pg_bindir",
    "free_port",
    "process_alive",
]
