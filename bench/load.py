"""Load test and soak of the running app with real browsers: ``python -m bench load`` and
``python -m bench soak``.

Both start the app as a user would (``streamlit run serve.py`` in a child process on a free
loopback port, with ``PPAP_HOUSEHOLDS`` when ``--data`` is given) and drive it with headless
Chromium (Debian's ``/usr/bin/chromium``, through Playwright): every session is a browser context
of its own, so a websocket and a Streamlit session of its own. Every request to an address other
than the app's loopback server is refused. The server's memory (RSS of the server process and its
children, :mod:`psutil`) is sampled every :data:`SAMPLE_INTERVAL_S` throughout.

**bench-load** ``--sessions 10,20,40``: for each N, N sessions open the Overview at once (initial
load: navigation until the first script run has finished and its map is on the page). Once all
have loaded (the ramp-up, which the initial load reports, is over), each changes the map level
``--reruns`` times, each time after reading the map for a pause drawn from
``--think`` (default :data:`THINK_S`, 1-5 s; ``--think 1`` for lockstep). A rerun is the click
until the run it started has finished and the map of the new level is on the page. Prints
p50/p95/p99 of both, failed sessions (with the step that failed), and the server's memory.
The baseline, measured in the same run, is one session alone (N = 1): the ratio is p95 against
it.
``--replicas K`` starts K servers and gives each session one of them for its whole life (what a
load balancer with sticky sessions does): the same load spread over several processes.

**bench-soak** ``--cycles C --concurrent K``: C cycles in which K sessions connect, load the
Overview, rerun once and disconnect (contexts closed). The server's memory after each cycle shows
whether it levels off; the verdict compares the growth over the last third of the cycles with the
first third (Streamlit keeps a closed session's state for a while, so memory rises during the
first cycles and must then stay flat).

Runs are bounded: every wait has a timeout, sessions and cycles are counted, and the server is
stopped at the end whatever happened. Figures are for reading, not asserting (docs/SCALE.md).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np

from geo.data import paths
from geo.errors import PPAPError
from tests.support.server import CHROMIUM, CHROMIUM_ARGS, PAGE_IDLE, start_server, stop_server

SAMPLE_INTERVAL_S = 0.5
#: Longest wait for one page load or one rerun before the session counts as failed.
SESSION_TIMEOUT_S = 120.0
#: Without WebGL the browser does not draw the map (deck.gl needs WebGL; here it would be software
#: rendering on the server's own two cores): the load test measures the server, whose users draw
#: on their own machines. ``--render`` draws anyway.
NO_WEBGL_ARGS = ["--disable-3d-apis", "--disable-webgl"]
#: The Overview's map level radio (``pages/_sidebar.PAGE_KEYS``); Streamlit gives keyed widgets
#: the class ``st-key-<key>``.
RERUN_WIDGET = ".st-key-overview_by [role='radiogroup'] label"
TARGET_P95_RERUN_S = 2.0
#: Pause before each rerun, as a person reads the map before the next click: drawn uniformly
#: between the two bounds, seconds, for each click of each session (Locust's ``between(1, 5)``),
#: so that ten people do not click in the same tenth of a second. ``--think 1`` (both bounds 1 s)
#: makes every session click one second after its last answer: the sessions then move in
#: lockstep, all ten clicking within the same second, the worst case.
THINK_S: tuple[float, float] = (1.0, 5.0)

#: The map element, once deck.gl's code has loaded (Streamlit loads it on first use).
DECK = "[data-testid='stDeckGlJsonChart']"
#: The Overview's map levels in the order of its radio (``pages/_sidebar.PAGE_BY["overview"]``)
#: and the key its map element gets at each (``pages/overview.py``: the level and the area, here
#: all provinces); Streamlit gives keyed elements the class ``st-key-<key>``.
OVERVIEW_LEVELS = ("province", "district", "subdistrict", "h3")
OVERVIEW_MAP_KEY = "overview_map_{by}_all"
_RUN_DONE = f"(selector) => ({PAGE_IDLE}) && !!document.querySelector(selector)"


# ---------------------------------------------------------------------------------------------
# Figures
# ---------------------------------------------------------------------------------------------


def percentiles(values: Sequence[float], qs: Sequence[float] = (50, 95, 99)) -> dict[str, float | None]:
    """``{"p50": …, "p95": …, "p99": …}`` of ``values`` (linear interpolation); None when empty.

    Example
    -------
    >>> percentiles([1.0, 2.0, 3.0, 4.0])["p50"]
    2.5
    """
    if any(not 0 <= q <= 100 for q in qs):
        raise ValueError(f"percentiles must be within 0-100, got {list(qs)}")
    clean = [float(v) for v in values if v is not None and np.isfinite(v)]
    return {f"p{q:g}": (float(np.percentile(clean, q)) if clean else None) for q in qs}


def levels_off(series: Sequence[float], *, tolerance: float = 0.05) -> dict:
    """Whether a memory series levels off: growth over its last third against its first third.

    The series levels off when the last third grows by less than ``tolerance`` of its own mean
    (a flat tail), or by less than a quarter of the first third's growth (decelerating).

    Returns
    -------
    dict
        ``first_third_growth``, ``last_third_growth`` (same unit as ``series``), ``levels_off``.

    Example
    -------
    >>> levels_off([100, 150, 180, 190, 191, 191])["levels_off"]
    True
    >>> levels_off([100, 120, 140, 160, 180, 200])["levels_off"]
    False
    """
    values = [float(v) for v in series]
    if len(values) < 3:
        raise ValueError(f"levels_off needs at least 3 values, got {len(values)}")
    third = max(len(values) // 3, 1)
    first = values[third] - values[0] if third < len(values) else 0.0
    tail = values[-third - 1:]
    last = tail[-1] - tail[0]
    flat = last <= tolerance * float(np.mean(tail))
    slower = first > 0 and last <= 0.25 * first
    return {"first_third_growth": first, "last_third_growth": last, "levels_off": bool(flat or slower)}


class MemorySampler:
    """Samples the RSS of processes (one pid or several: replicas) and their children every
    ``interval`` seconds in a thread.

    Example
    -------
    >>> with MemorySampler(os.getpid(), interval=0.05) as memory:  # doctest: +SKIP
    ...     work()
    >>> memory.peak_bytes  # doctest: +SKIP
    """

    def __init__(self, pid: int | Sequence[int], *, interval: float = SAMPLE_INTERVAL_S):
        import psutil

        if interval <= 0:
            raise ValueError(f"interval must be positive, got {interval}")
        self._processes = [psutil.Process(p) for p in ([pid] if isinstance(pid, int) else pid)]
        self.interval = interval
        self.samples: list[tuple[float, int]] = []  # (seconds since start, bytes)
        self.private_samples: list[int] = []  # RSS less its file-backed and shared pages, per sample
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._started = time.monotonic()

    def rss_bytes(self) -> int:
        """RSS of the processes and their children now (0 once they have gone)."""
        return self._usage()[0]

    def _usage(self) -> tuple[int, int]:
        """(RSS, RSS less its shared pages) of the processes and their children now.

        The shared part (psutil's ``shared``: file-backed pages such as a memory-mapped index, and
        shared memory) is page cache every process mapping the same files shares and the kernel can
        drop; the rest is the processes' own memory.
        """
        import psutil

        procs = []
        for process in self._processes:
            try:
                procs += [process, *process.children(recursive=True)]
            except psutil.Error:
                pass
        total = private = 0
        for proc in procs:
            try:
                info = proc.memory_info()
            except psutil.Error:
                continue
            total += info.rss
            private += info.rss - getattr(info, "shared", 0)
        return total, private

    def sample(self) -> int:
        """Take one sample now and return its RSS."""
        rss, private = self._usage()
        self.samples.append((time.monotonic() - self._started, rss))
        self.private_samples.append(private)
        return rss

    def _run(self) -> None:
        while not self._stop.is_set():
            self.sample()
            self._stop.wait(self.interval)

    def __enter__(self) -> MemorySampler:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self.sample()

    def cpu_seconds(self) -> float:
        """CPU time (user + system) the processes have used so far (0 for one that has gone)."""
        import psutil

        total = 0.0
        for process in self._processes:
            try:
                times = process.cpu_times()
            except psutil.Error:
                continue
            total += times.user + times.system
        return total

    @property
    def peak_bytes(self) -> int:
        """Largest sample so far (0 before any)."""
        return max((b for _, b in self.samples), default=0)

    @property
    def peak_private_bytes(self) -> int:
        """Largest RSS less its shared pages so far (see :meth:`_usage`; 0 before any)."""
        return max(self.private_samples, default=0)

    def series_mb(self, every_s: float = 5.0) -> list[tuple[float, float]]:
        """The samples thinned to one per ``every_s`` seconds, in MB, for printing."""
        out, next_t = [], 0.0
        for t, b in self.samples:
            if t >= next_t:
                out.append((round(t, 1), round(b / 1e6, 1)))
                next_t = t + every_s
        return out


# ---------------------------------------------------------------------------------------------
# The server
# ---------------------------------------------------------------------------------------------


# ---------------------------------------------------------------------------------------------
# Browser sessions
# ---------------------------------------------------------------------------------------------


@dataclass
class SessionResult:
    """One browser session: its initial load, its reruns (seconds) and what went wrong."""

    initial_s: float | None = None
    rerun_s: list[float] = field(default_factory=list)
    error: str | None = None


async def launch_browser(playwright, *, render: bool = True):
    """Debian's Chromium, headless, as the browser tests launch it (Playwright downloads none);
    with ``render=False`` without WebGL (:data:`NO_WEBGL_ARGS`)."""
    if not Path(CHROMIUM).is_file():
        raise PPAPError(f"no Chromium at {CHROMIUM}; run `make system-deps` (or set PPAP_CHROMIUM)")
    args = CHROMIUM_ARGS + ([] if render else NO_WEBGL_ARGS)
    browser = await playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=args)
    browser.ppap_render = render
    return browser


async def open_session(browser, url: str):
    """A new browser context (its own Streamlit session) whose requests may reach only ``url``'s host."""
    host = urlsplit(url).hostname
    context = await browser.new_context(viewport={"width": 1400, "height": 1000}, locale="th-TH")

    async def only_local(route):
        if urlsplit(route.request.url).hostname == host:
            await route.continue_()
        else:
            await route.abort()

    await context.route("**/*", only_local)
    return context, await context.new_page()


async def _settled(page, by: str, timeout_s: float) -> None:
    """Wait until the run showing the map at level ``by`` has finished and its map is there (its
    canvas drawn when the browser renders, else its element)."""
    selector = f".st-key-{OVERVIEW_MAP_KEY.format(by=by)} {DECK}"
    await page.wait_for_function(_RUN_DONE, arg=selector, timeout=timeout_s * 1000)
    if getattr(page.context.browser, "ppap_render", True):
        await page.locator(f"{selector} canvas").first.wait_for(state="visible", timeout=timeout_s * 1000)
    if await page.locator("[data-testid='stException']").count():
        raise PPAPError("the app showed an exception")


async def load_overview(page, url: str, timeout_s: float = SESSION_TIMEOUT_S) -> float:
    """Open the Overview; seconds until its first run has finished and the map is drawn."""
    started = time.perf_counter()
    await page.goto(url, timeout=timeout_s * 1000)
    await _settled(page, OVERVIEW_LEVELS[0], timeout_s)
    return time.perf_counter() - started


async def rerun(page, option: int, timeout_s: float = SESSION_TIMEOUT_S) -> float:
    """Click option ``option`` of the map-level radio; seconds until that run has finished."""
    started = time.perf_counter()
    await page.locator(RERUN_WIDGET).nth(option).click(timeout=timeout_s * 1000)
    await _settled(page, OVERVIEW_LEVELS[option], timeout_s)
    return time.perf_counter() - started


async def _page_state(page) -> str:
    """What the page showed when a session failed (the script state, the maps on it), for its error."""
    if page is None:
        return ""
    try:
        state, maps = await page.evaluate(
            "[document.querySelector('[data-test-script-state]')?.getAttribute('data-test-script-state'),"
            " Array.from(document.querySelectorAll(\"[class*='st-key-overview_map_']\")).map(e => e.className"
            ".match(/st-key-(\\S+)/)[1])]")
    except Exception:  # noqa: BLE001 - the page itself may be gone
        return ""
    return f" (page: script state {state}, maps {maps})"


class _AllLoaded:
    """Set once every session has finished its initial load, or failed it: the reruns are timed
    from then on, in the steady state after the ramp-up (whose cost the initial load reports)."""

    def __init__(self, sessions: int):
        self._left = sessions
        self._event = asyncio.Event()

    def done(self) -> None:
        self._left -= 1
        if self._left <= 0:
            self._event.set()

    async def wait(self) -> None:
        await self._event.wait()


async def _session(browser, url: str, reruns: int, start: asyncio.Event | None,
                   think_s: tuple[float, float] = THINK_S, rng: random.Random | None = None,
                   loaded: _AllLoaded | None = None) -> SessionResult:
    result = SessionResult()
    context = page = None
    step = "opening"
    counted = loaded is None
    try:
        context, page = await open_session(browser, url)
        if start is not None:
            await start.wait()
        step = "initial load"
        result.initial_s = await load_overview(page, url)
        if loaded is not None:
            counted = True
            loaded.done()
            await loaded.wait()
        for k in range(reruns):
            await asyncio.sleep((rng or random).uniform(*think_s))
            step = f"rerun {k + 1}"
            result.rerun_s.append(await rerun(page, (k + 1) % 3))
    except Exception as exc:  # noqa: BLE001 - any failure of a session is a figure, not a crash
        result.error = (f"{step}: {type(exc).__name__}: {str(exc).splitlines()[0][:200] if str(exc) else ''}"
                        f"{await _page_state(page)}")
    finally:
        if not counted:
            loaded.done()  # a session that failed before loading must not hold the others back
        if context is not None:
            await context.close()
    return result


async def drive_sessions(url: str | Sequence[str], sessions: int, reruns: int, *, deadline_s: float,
                         render: bool = False, think_s: tuple[float, float] = THINK_S,
                         seed: int = 0) -> list[SessionResult]:
    """``sessions`` browser sessions at once against ``url``: all load the Overview at once, then,
    once every one has loaded (or failed), each reruns ``reruns`` times, each rerun after a pause
    drawn from ``think_s`` (:data:`THINK_S`; session ``i`` draws from ``random.Random(seed + i)``,
    so a run can be repeated).

    With several URLs (replicas), session ``i`` uses ``url[i % len(url)]`` for its whole life: a
    sticky load balancer's assignment.
    """
    from playwright.async_api import async_playwright

    if sessions < 1 or reruns < 0:
        raise ValueError(f"sessions must be positive and reruns non-negative, got {sessions}, {reruns}")
    check_think(think_s)
    urls = [url] if isinstance(url, str) else list(url)
    async with async_playwright() as playwright:
        browser = await launch_browser(playwright, render=render)
        try:
            start = asyncio.Event()
            loaded = _AllLoaded(sessions)
            tasks = [asyncio.create_task(_session(browser, urls[i % len(urls)], reruns, start, think_s,
                                                  random.Random(seed + i), loaded))
                     for i in range(sessions)]
            await asyncio.sleep(0.5)  # contexts created, then every session navigates at once
            start.set()
            done, pending = await asyncio.wait(tasks, timeout=deadline_s)
            for task in pending:
                task.cancel()
            results = [t.result() if t in done else SessionResult(error="over the run's deadline") for t in tasks]
        finally:
            await browser.close()
    return results


def check_think(think_s: tuple[float, float]) -> None:
    """Raise ValueError unless ``think_s`` is ``(low, high)`` seconds with 0 <= low <= high <= 60."""
    if len(think_s) != 2 or not 0 <= think_s[0] <= think_s[1] <= 60:
        raise ValueError(f"think time must be (low, high) seconds with 0 <= low <= high <= 60, got {think_s}")


def summarise(results: list[SessionResult]) -> dict:
    """p50/p95/p99 of initial loads and reruns, and the failed sessions with their first errors."""
    failed = [r for r in results if r.error]
    return {
        "sessions": len(results),
        "failed": len(failed),
        "errors": sorted({r.error for r in failed})[:5],
        "initial_s": percentiles([r.initial_s for r in results if r.initial_s is not None]),
        "rerun_s": percentiles([t for r in results for t in r.rerun_s]),
        "reruns": sum(len(r.rerun_s) for r in results),
    }


# ---------------------------------------------------------------------------------------------
# The two benchmarks
# ---------------------------------------------------------------------------------------------


def run_load(sessions: Sequence[int] = (10, 20, 40), *, reruns: int = 5, data: Path | None = None,
             deadline_s: float = 600.0, render: bool = False, replicas: int = 1,
             think_s: tuple[float, float] = THINK_S) -> dict:
    """The load test: a baseline of one session, then each N in ``sessions`` (module docstring).

    ``replicas`` > 1 starts that many servers and gives each session one of them for its whole
    life (a sticky load balancer's assignment); memory and CPU are summed over the replicas.
    """
    if not sessions or any(n < 1 for n in sessions):
        raise ValueError(f"sessions must be positive counts, got {list(sessions)}")
    if replicas < 1:
        raise ValueError(f"replicas must be positive, got {replicas}")
    check_think(think_s)
    servers = []
    try:
        for _ in range(replicas):
            servers.append(start_server(data))
    except PPAPError:
        for started in servers:
            stop_server(started.proc)
        raise
    urls = [server.url for server in servers]
    report = {"data": str(data or "default (store, else sample)"), "machine": _machine(), "reruns_per_session": reruns,
              "render": render, "replicas": replicas, "think_s": list(think_s),
              "server_healthy_s": max(server.healthy_s for server in servers), "runs": []}
    try:
        with MemorySampler([server.proc.pid for server in servers]) as memory:
            for url in urls:  # warm every replica's caches once
                asyncio.run(drive_sessions(url, 1, 1, deadline_s=deadline_s, render=render))
            report["after_warm_up_mb"] = memory.sample() / 1e6
            for n in (1, *sessions):
                t0, cpu0 = len(memory.samples), memory.cpu_seconds()
                started = time.perf_counter()
                results = asyncio.run(drive_sessions(urls, n, reruns, deadline_s=deadline_s, render=render,
                                                     think_s=think_s, seed=n))
                window = [b for _, b in memory.samples[t0:]] or [memory.sample()]
                summary = summarise(results)
                runs = summary["reruns"] + summary["sessions"] - summary["failed"]
                report["runs"].append({**summary, "n": n, "wall_s": time.perf_counter() - started,
                                       "server_cpu_s": memory.cpu_seconds() - cpu0,
                                       "server_cpu_per_run_s": (memory.cpu_seconds() - cpu0) / max(runs, 1),
                                       "server_peak_mb": max(window) / 1e6, "server_end_mb": memory.sample() / 1e6})
        report["server_peak_mb"] = memory.peak_bytes / 1e6
        report["memory_mb"] = memory.series_mb(every_s=10.0)
    finally:
        for server in servers:
            stop_server(server.proc)
    return report


def run_soak(*, cycles: int = 30, concurrent: int = 5, data: Path | None = None, deadline_s: float = 300.0,
             render: bool = False) -> dict:
    """The soak: ``cycles`` connect / load / rerun / disconnect cycles of ``concurrent`` sessions."""
    if cycles < 3 or concurrent < 1:
        raise ValueError(f"cycles must be at least 3 and concurrent positive, got {cycles}, {concurrent}")
    server = start_server(data)
    report = {"data": str(data or "default (store, else sample)"), "machine": _machine(), "cycles": cycles,
              "concurrent": concurrent, "per_cycle": []}
    try:
        with MemorySampler(server.proc.pid) as memory:
            report["before_mb"] = memory.sample() / 1e6
            for cycle in range(cycles):
                results = asyncio.run(drive_sessions(server.url, concurrent, 1, deadline_s=deadline_s, render=render))
                summary = summarise(results)
                report["per_cycle"].append({"cycle": cycle + 1, "failed": summary["failed"],
                                            "initial_p50_s": summary["initial_s"]["p50"],
                                            "rss_mb": memory.sample() / 1e6})
                print(f"soak cycle {cycle + 1}/{cycles}: {report['per_cycle'][-1]['rss_mb']:.0f} MB, "
                      f"{summary['failed']} failed {summary['errors'][:1]}", file=sys.stderr, flush=True)
        rss = [c["rss_mb"] for c in report["per_cycle"]]
        report["verdict"] = levels_off(rss)
        report["failed"] = sum(c["failed"] for c in report["per_cycle"])
        report["server_peak_mb"] = memory.peak_bytes / 1e6
    finally:
        stop_server(server.proc)
    return report


def _machine() -> dict:
    import psutil

    return {"python": platform.python_version(), "cpus": os.cpu_count(),
            "memory_gb": round(psutil.virtual_memory().total / 2**30, 1), "load_1m": os.getloadavg()[0]}


def _fmt(value: float | None, unit: str = "s") -> str:
    return "—" if value is None else f"{value:.2f} {unit}"


def format_load(report: dict) -> str:
    """The load test's figures as a table."""
    base = report["runs"][0]
    lines = [f"load test: {report['data']}; {report.get('replicas', 1)} server process(es); "
             f"{report['reruns_per_session']} reruns per session, {_think(report.get('think_s', THINK_S))} before each; "
             f"{'maps drawn (WebGL)' if report['render'] else 'maps not drawn (no WebGL: server figures)'}; "
             f"{report['machine']['cpus']} cores; server healthy after {report['server_healthy_s']:.1f} s",
             f"{'sessions':>8} {'failed':>6} {'initial p50/p95/p99 s':>24} {'rerun p50/p95/p99 s':>22} "
             f"{'p95 rerun vs 1':>14} {'server peak MB':>15} {'wall s':>7} {'server CPU s/run':>17}"]
    for run in report["runs"]:
        i, r = run["initial_s"], run["rerun_s"]
        ratio = (r["p95"] / base["rerun_s"]["p95"]) if r["p95"] and base["rerun_s"]["p95"] else None
        lines.append(f"{run['n']:>8} {run['failed']:>6} {_trio(i):>24} {_trio(r):>22} "
                     f"{('x' + format(ratio, '.1f')) if ratio else '—':>14} {run['server_peak_mb']:>15.0f} "
                     f"{run['wall_s']:>7.0f} {run['server_cpu_per_run_s']:>17.2f}")
        for error in run["errors"]:
            lines.append(f"{'':>8} error: {error}")
    verdicts = [f"{run['n']}: {'meets' if (run['rerun_s']['p95'] or 1e9) < TARGET_P95_RERUN_S and not run['failed'] else 'misses'}"
                for run in report["runs"][1:]]
    lines.append(f"target p95 rerun under {TARGET_P95_RERUN_S:.0f} s with no failures — " + ", ".join(verdicts))
    lines.append("server memory (s, MB): " + ", ".join(f"{t:.0f}:{m:.0f}" for t, m in report["memory_mb"]))
    return "\n".join(lines)


def _think(think_s: Sequence[float]) -> str:
    low, high = think_s
    return f"{low:g} s" if low == high else f"{low:g}-{high:g} s (random)"


def _num(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}"


def _trio(figures: dict) -> str:
    return f"{_num(figures['p50'])}/{_num(figures['p95'])}/{_num(figures['p99'])}"


def format_soak(report: dict) -> str:
    """The soak's figures: memory after each cycle and the verdict."""
    v = report["verdict"]
    rss = [c["rss_mb"] for c in report["per_cycle"]]
    return "\n".join([
        f"soak: {report['cycles']} cycles of {report['concurrent']} sessions (connect, load, rerun, disconnect); "
        f"{report['data']}",
        f"server RSS before {report['before_mb']:.0f} MB; after each cycle (MB): " + ", ".join(f"{m:.0f}" for m in rss),
        f"growth over the first third {v['first_third_growth']:+.0f} MB, over the last third "
        f"{v['last_third_growth']:+.0f} MB: {'levels off' if v['levels_off'] else 'still climbing'}; "
        f"peak {report['server_peak_mb']:.0f} MB; failed sessions {report['failed']}",
    ])


# ---------------------------------------------------------------------------------------------
# Command line
# ---------------------------------------------------------------------------------------------


def _counts(text: str) -> tuple[int, ...]:
    try:
        values = tuple(int(v) for v in text.split(",") if v.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected counts like 10,20,40, got {text!r}") from None
    if not values or any(v < 1 or v > 100 for v in values):
        raise argparse.ArgumentTypeError(f"session counts must be 1-100, got {text!r}")
    return values


def _think_range(text: str) -> tuple[float, float]:
    """``"1-5"`` -> (1.0, 5.0); ``"1"`` -> (1.0, 1.0)."""
    try:
        parts = [float(v) for v in text.split("-")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected seconds like 1-5 or 1, got {text!r}") from None
    think = (parts[0], parts[-1]) if len(parts) in (1, 2) else ()
    try:
        check_think(think)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return think


def add_commands(subparsers: argparse._SubParsersAction) -> None:
    """Add ``bench-load`` and ``bench-soak`` to the ``python -m bench`` command line."""
    load = subparsers.add_parser("load", help="N real browser sessions at once against the running app")
    load.add_argument("--sessions", type=_counts, default=(10, 20, 40), help="session counts (default 10,20,40)")
    load.add_argument("--reruns", type=int, default=5, help="reruns per session (default 5)")
    load.add_argument("--data", type=Path, metavar="FILE", help="households file (default: the store, else the sample)")
    load.add_argument("--replicas", type=int, default=1,
                      help="app processes, each session sticking to one (default 1)")
    load.add_argument("--render", action="store_true", help="let the browsers draw the maps (software WebGL)")
    load.add_argument("--think", type=_think_range, default=THINK_S, metavar="LOW-HIGH",
                      help="seconds a person reads the map before each click, drawn between LOW and HIGH "
                           "(default 1-5; a single value, e.g. 1, makes the sessions click in lockstep)")
    load.add_argument("--json", action="store_true", help="print the figures as JSON")
    load.set_defaults(func=_cmd_load)
    soak = subparsers.add_parser("soak", help="repeated connect/disconnect cycles; does memory level off?")
    soak.add_argument("--cycles", type=int, default=30, help="cycles (default 30)")
    soak.add_argument("--concurrent", type=int, default=5, help="sessions per cycle (default 5)")
    soak.add_argument("--data", type=Path, metavar="FILE", help="households file (default: the store, else the sample)")
    soak.add_argument("--render", action="store_true", help="let the browsers draw the maps (software WebGL)")
    soak.add_argument("--json", action="store_true", help="print the figures as JSON")
    soak.set_defaults(func=_cmd_soak)


def _cmd_load(args: argparse.Namespace) -> int:
    try:
        report = run_load(args.sessions, reruns=args.reruns, data=args.data, render=args.render,
                          replicas=args.replicas, think_s=args.think)
    except ValueError as exc:
        raise PPAPError(str(exc)) from exc
    print(json.dumps(report, indent=1) if args.json else format_load(report))
    return 0


def _cmd_soak(args: argparse.Namespace) -> int:
    try:
        report = run_soak(cycles=args.cycles, concurrent=args.concurrent, data=args.data, render=args.render)
    except ValueError as exc:
        raise PPAPError(str(exc)) from exc
    print(json.dumps(report, indent=1) if args.json else format_soak(report))
    return 0
