"""The load test's own arithmetic (bench.load): percentiles, the soak verdict, memory
sampling, the summary of sessions, the think-time option. No server and no browser here: those run in the benchmark."""

from __future__ import annotations

import argparse
import mmap
import os
import time

import numpy as np
import pytest

from bench.load import (
    MemorySampler,
    SessionResult,
    _counts,
    _think_range,
    check_think,
    levels_off,
    percentiles,
    summarise,
)


def test_percentiles_match_numpy_and_ignore_missing():
    values = [0.3, 1.2, 0.9, 4.0, 2.2, None, float("nan")]
    clean = [0.3, 1.2, 0.9, 4.0, 2.2]
    got = percentiles(values)
    assert got == {f"p{q}": pytest.approx(float(np.percentile(clean, q))) for q in (50, 95, 99)}
    assert percentiles([]) == {"p50": None, "p95": None, "p99": None}
    assert percentiles([7.0], qs=(0, 100)) == {"p0": 7.0, "p100": 7.0}


def test_percentiles_reject_out_of_range():
    with pytest.raises(ValueError, match="0-100"):
        percentiles([1.0], qs=(101,))


@pytest.mark.parametrize("series, expected", [
    ([400, 430, 450, 455, 456, 456, 457, 457, 457], True),  # rises, then flat
    ([400, 400, 400, 400, 400, 400], True),  # flat from the start
    ([400, 420, 440, 460, 480, 500, 520, 540, 560], False),  # climbs steadily
    ([400, 401, 402, 410, 440, 480], False),  # accelerating
])
def test_levels_off(series, expected):
    assert levels_off(series)["levels_off"] is expected


def test_levels_off_needs_three_points():
    with pytest.raises(ValueError, match="at least 3"):
        levels_off([1, 2])


def test_memory_sampler_sees_this_process_grow():
    with MemorySampler(os.getpid(), interval=0.02) as memory:
        before = memory.rss_bytes()
        block = np.ones(40_000_000, dtype=np.uint8)  # 40 MB, touched
        time.sleep(0.1)
        assert memory.rss_bytes() > before + 30e6
        del block
    assert len(memory.samples) >= 3
    assert memory.peak_bytes >= before + 30e6
    assert all(later[0] >= earlier[0] for earlier, later in zip(memory.samples, memory.samples[1:]))
    assert memory.series_mb(every_s=1000)[0][1] > 0


def test_memory_sampler_tells_own_memory_from_mapped_file_pages(tmp_path):
    """A mapped file's pages count in RSS but not in the process's own memory; an array it fills does."""
    path = tmp_path / "mapped.npy"
    np.save(path, np.ones(40_000_000, dtype=np.uint8))
    with MemorySampler(os.getpid(), interval=0.02) as memory:
        mapped = np.load(path, mmap_mode="r")
        assert int(mapped.sum()) == 40_000_000  # every page touched
        time.sleep(0.1)
        memory.sample()
        after_mapping = memory.private_samples[-1]
        # Fresh private pages, whatever the allocator keeps of freed memory (geo.engine.allocator:
        # an np.ones could reuse pages this process already holds and add nothing to its RSS).
        block = np.frombuffer(mmap.mmap(-1, 40_000_000, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS), dtype=np.uint8)
        block[:] = 1
        time.sleep(0.1)
        memory.sample()
        del block, mapped
    rss_rise = max(b for _, b in memory.samples) - memory.samples[0][1]
    assert rss_rise > 60e6  # both: the mapped pages and the array
    assert after_mapping - memory.private_samples[0] < 20e6  # mapped pages are shared, not own
    assert memory.peak_private_bytes >= memory.private_samples[0] + 30e6
    assert all(0 < p <= b for p, (_, b) in zip(memory.private_samples, memory.samples))


def test_memory_sampler_sums_several_processes():
    import subprocess
    import sys

    # Two children that did some work and now sleep, not this test process: its own memory moves
    # between two readings (the garbage collector) by more than a small child holds, which raced.
    ready = "import sys, time; sum(range(5_000_000)); sys.stdout.write('ready\\n'); sys.stdout.flush(); time.sleep(30)"
    children = [subprocess.Popen([sys.executable, "-c", ready], stdout=subprocess.PIPE, text=True) for _ in range(2)]
    try:
        for child in children:
            assert child.stdout.readline().strip() == "ready"
        one = MemorySampler(children[0].pid)
        both = MemorySampler([child.pid for child in children])
        assert both.rss_bytes() > one.rss_bytes()
        assert both.cpu_seconds() >= one.cpu_seconds() > 0
    finally:
        for child in children:
            child.kill()
            child.wait()


def test_summary_counts_failures_and_pools_reruns():
    results = [SessionResult(1.0, [0.5, 0.7]), SessionResult(2.0, [0.9]),
               SessionResult(error="TimeoutError: x"), SessionResult(3.0, [], error="TimeoutError: x")]
    summary = summarise(results)
    assert summary["sessions"] == 4 and summary["failed"] == 2 and summary["errors"] == ["TimeoutError: x"]
    assert summary["reruns"] == 3
    assert summary["initial_s"]["p50"] == pytest.approx(2.0)
    assert summary["rerun_s"]["p50"] == pytest.approx(0.7)


def test_session_counts_are_parsed_and_bounded():
    assert _counts("10,20,40") == (10, 20, 40)
    for bad in ("", "a,b", "0", "500"):
        with pytest.raises(argparse.ArgumentTypeError):
            _counts(bad)


def test_think_time_is_a_range_or_one_value():
    assert _think_range("1-5") == (1.0, 5.0)
    assert _think_range("1") == (1.0, 1.0)  # lockstep
    assert _think_range("0.5-0.5") == (0.5, 0.5)
    for bad in ("", "a", "5-1", "1-2-3", "-1", "1-100"):
        with pytest.raises(argparse.ArgumentTypeError):
            _think_range(bad)
    with pytest.raises(ValueError, match="think time"):
        check_think((2.0, 1.0))


def test_reruns_wait_until_every_session_has_loaded_or_failed():
    import asyncio

    from bench.load import _AllLoaded

    async def scenario() -> list[str]:
        loaded, order = _AllLoaded(3), []

        async def session(name: str, delay: float) -> None:
            await asyncio.sleep(delay)
            loaded.done()
            await loaded.wait()
            order.append(name)

        waiting = [asyncio.create_task(session("a", 0.0)), asyncio.create_task(session("b", 0.01))]
        await asyncio.sleep(0.05)
        assert order == []  # two of three have loaded: nobody reruns yet
        loaded.done()  # the third failed before loading
        await asyncio.gather(*waiting)
        return order

    # Its own thread: the browser tests' sync Playwright may hold this thread's event loop.
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(1) as pool:
        assert sorted(pool.submit(asyncio.run, scenario()).result()) == ["a", "b"]
