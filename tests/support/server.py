"""The app on a free loopback port, as a user would start it (``streamlit run serve.py``), and the
Chromium settings for driving it: shared by the browser tests and the load benchmarks (``bench.load``)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from geo.data import paths
from geo.errors import PPAPError


CHROMIUM = os.environ.get("PPAP_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-dev-shm-usage"]
SERVER_START_TIMEOUT_S = 180.0


#: True in the page when no script run is going on (also what the browser tests wait on).
PAGE_IDLE = "document.querySelector('[data-test-script-state]')?.getAttribute('data-test-script-state') === 'notRunning'"


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Server:
    """A running ``streamlit run serve.py`` and how long it took to answer its health check."""

    proc: subprocess.Popen
    url: str
    log: Path
    healthy_s: float


def start_server(data: Path | None = None, *, port: int | None = None, timeout: float = SERVER_START_TIMEOUT_S,
                 env: dict | None = None) -> Server:
    """Start the app on a free loopback port and wait until ``/_stcore/health`` answers.

    Parameters
    ----------
    data : pathlib.Path, optional
        A households file to show (``PPAP_HOUSEHOLDS``); default the store, else the sample.

    Raises
    ------
    PPAPError
        When the server exits or is not healthy within ``timeout`` seconds (its log is quoted).
    """
    port = port or free_port()
    url = f"http://127.0.0.1:{port}"
    log = Path(tempfile.mkdtemp(prefix="ppap-bench-")) / "server.log"
    child_env = {**os.environ, **(env or {})}
    if data is not None:
        child_env["PPAP_HOUSEHOLDS"] = str(Path(data).resolve())
    cmd = [sys.executable, "-m", "streamlit", "run", "serve.py", "--server.headless", "true",
           "--server.port", str(port), "--server.address", "127.0.0.1", "--server.fileWatcherType", "none",
           "--browser.gatherUsageStats", "false"]
    started = time.perf_counter()
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, cwd=paths.PROJECT_ROOT, stdout=out, stderr=subprocess.STDOUT, env=child_env)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise PPAPError(f"streamlit exited with {proc.returncode}: {log.read_text(errors='replace')[-2000:]}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                if response.status == 200:
                    return Server(proc, url, log, time.perf_counter() - started)
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.2)
    stop_server(proc)
    raise PPAPError(f"streamlit not healthy after {timeout:.0f} s: {log.read_text(errors='replace')[-2000:]}")


def stop_server(proc: subprocess.Popen) -> None:
    """Stop the server started by :func:`start_server` (terminate, then kill after 10 s)."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
