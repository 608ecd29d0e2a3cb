"""`console.proc.kill_group` returns only once the whole process group is gone, not when its leader is."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Iterator

import pytest

from console import proc as processes
from tests.helpers import alive

# A leader that dies on SIGTERM and a member that only SIGKILL ends, which runs only when its CPU has nothing else
# to run (SCHED_IDLE, pinned to the test's CPU): a SIGKILL takes effect when the member next runs, so a kill_group
# that returns without yielding the CPU returns while the member still runs.
GROUP = r"""
import os, signal, sys, time
cpu = int(sys.argv[1])
pid = os.fork()
if pid == 0:
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    os.sched_setaffinity(0, {cpu})
    os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
    print(os.getpid(), flush=True)
    time.sleep(3600)
time.sleep(3600)
"""


@pytest.fixture
def one_cpu() -> Iterator[int]:
    """The test pinned to one CPU (restored after)."""
    before = os.sched_getaffinity(0)
    cpu = min(before)
    os.sched_setaffinity(0, {cpu})
    yield cpu
    os.sched_setaffinity(0, before)


async def test_it_returns_once_every_member_is_gone_not_only_the_leader(one_cpu: int) -> None:
    leader = await asyncio.create_subprocess_exec(
        sys.executable, "-c", GROUP, str(one_cpu), stdout=asyncio.subprocess.PIPE, process_group=0
    )
    assert leader.stdout is not None
    member = int(await leader.stdout.readline())
    await processes.kill_group(leader, grace=0.2)
    assert not alive(member), f"member {member} of the group still runs"
    assert leader.returncode is not None
