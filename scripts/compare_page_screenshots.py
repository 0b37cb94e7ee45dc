"""Do the pages look the same at two commits? Screenshots of every page, compared pixel by pixel.

For each of two commits this script

1. checks the commit out into a temporary worktree (``git worktree add --detach /tmp/...``), copies
   this worktree's ``data/`` into it (boundaries, sample, cell-key secret: the same data for both)
   and links ``../shared`` beside it;
2. starts the app from it (``streamlit run serve.py`` on a free loopback port, the project's venv),
   with a local-mode access config holding one administrator and a throw-away audit log;
3. opens every page (Overview, Capitals, Households, Pilots, Meeting, Data, Audit) in Chromium
   (Playwright driving ``/usr/bin/chromium``, every request outside the app refused) at 1920x1080,
   first as the public, then logged in as the administrator, and saves one PNG per page;
4. stops the server and removes the worktree.

Then, page by page, it prints the share of pixels that differ and writes a diff image (differing
pixels red over a faded copy of the first screenshot). Usage (``nice``: the machine is shared)::

    nice .venv/bin/python scripts/compare_page_screenshots.py 2a8fe68 HEAD --out /tmp/ppap-shots

Prints a Markdown table (page, who, share of pixels differing) and writes
``OUT/<commit>/<who>-<page>.png`` and ``OUT/diff/<who>-<page>.png``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from PIL import Image, ImageChops  # noqa: E402

from tests.support.server import CHROMIUM, CHROMIUM_ARGS, PAGE_IDLE, free_port  # noqa: E402

#: (name, URL path) of every page, in the menu's order.
PAGES = [("overview", ""), ("capitals", "capitals"), ("pilots", "pilots"), ("meeting", "meeting"),
         ("households", "households"), ("data", "data"), ("audit", "audit")]
VIEWPORT = {"width": 1920, "height": 1080}
ADMIN, ADMIN_PASSWORD = "admin", "correct horse admin battery"
LOAD_TIMEOUT_MS = 120_000
SETTLE_S = 3.0


def run(cmd: list[str], **kwargs) -> str:
    return subprocess.run(cmd, check=True, capture_output=True, text=True, **kwargs).stdout.strip()


def access_toml(path: Path) -> Path:
    """A local-mode access config: public viewer until the one administrator logs in."""
    from geo.access.roles import hash_password

    path.write_text("\n".join(["[auth]", 'mode = "local"', "public_access = true", "",
                               "[[users]]", f'username = "{ADMIN}"', 'role = "administrator"',
                               'display_name = "Screenshot admin"',
                               f'password_hash = "{hash_password(ADMIN_PASSWORD)}"', ""]), encoding="utf-8")
    return path


def checkout(commit: str, parent: Path) -> Path:
    """``commit`` in a detached worktree ``parent/repo`` with this worktree's data and ``../shared``."""
    tree = parent / "repo"
    run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(tree), commit])
    shutil.rmtree(tree / "data", ignore_errors=True)
    shutil.copytree(ROOT / "data", tree / "data", symlinks=True)
    shared = ROOT.parent / "shared"
    if shared.exists():
        (parent / "shared").symlink_to(shared)
    return tree


def start(tree: Path, env: dict[str, str]) -> tuple[subprocess.Popen, str, Path]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = tree.parent / "server.log"
    cmd = [sys.executable, "-m", "streamlit", "run", "serve.py", "--server.headless", "true",
           "--server.port", str(port), "--server.address", "127.0.0.1", "--server.fileWatcherType", "none",
           "--browser.gatherUsageStats", "false"]
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, cwd=tree, stdout=out, stderr=subprocess.STDOUT, env=env)
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"streamlit exited: {log.read_text(errors='replace')[-2000:]}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                if response.status == 200:
                    return proc, url, log
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.3)
    stop(proc)
    raise SystemExit(f"streamlit not healthy: {log.read_text(errors='replace')[-2000:]}")


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


def settle(page) -> None:
    """Wait for the script run to end and every map canvas to be drawn."""
    page.wait_for_function(PAGE_IDLE, timeout=LOAD_TIMEOUT_MS)
    time.sleep(SETTLE_S)
    page.wait_for_function(PAGE_IDLE, timeout=LOAD_TIMEOUT_MS)
    time.sleep(1.0)


def shoot(url: str, out: Path) -> list[str]:
    """Every page as the public, then as the administrator; returns refused outside requests."""
    from playwright.sync_api import sync_playwright

    out.mkdir(parents=True, exist_ok=True)
    blocked: list[str] = []

    def only_local(route, request):
        if urlsplit(request.url).hostname in {"127.0.0.1", "localhost"}:
            route.continue_()
        else:
            blocked.append(request.url)
            route.abort()

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            for who in ("public", "admin"):
                context = browser.new_context(viewport=VIEWPORT, locale="th-TH", timezone_id="Asia/Bangkok")
                context.route("**/*", only_local)
                page = context.new_page()
                page.goto(url, wait_until="domcontentloaded", timeout=LOAD_TIMEOUT_MS)
                settle(page)
                if who == "admin":
                    bar = page.locator("[data-testid='stSidebar']")
                    bar.locator("summary").filter(has_text="เข้าสู่ระบบ").click()  # the login expander
                    bar.get_by_label("ชื่อผู้ใช้").fill(ADMIN)
                    bar.get_by_label("รหัสผ่าน").fill(ADMIN_PASSWORD)
                    bar.locator("[data-testid='stFormSubmitButton'] button").click()
                    time.sleep(2.0)
                    settle(page)
                for name, path in PAGES:
                    page.goto(f"{url}/{path}", wait_until="domcontentloaded", timeout=LOAD_TIMEOUT_MS)
                    settle(page)
                    page.mouse.move(0, VIEWPORT["height"] - 1)  # no hover effects
                    page.screenshot(path=str(out / f"{who}-{name}.png"))
                context.close()
        finally:
            browser.close()
    return blocked


def screenshots(commit: str, out_root: Path) -> Path:
    sha = run(["git", "-C", str(ROOT), "rev-parse", "--short", commit])
    out = out_root / sha
    parent = Path(tempfile.mkdtemp(prefix=f"ppap-shots-{sha}-"))
    tree = checkout(commit, parent)
    env = {**os.environ, "PPAP_ACCESS_CONFIG": str(access_toml(parent / "access.toml")),
           "PPAP_AUDIT_LOG": str(parent / "audit.jsonl")}
    env.pop("PPAP_HOUSEHOLDS", None)
    env.pop("PPAP_DATA_DIR", None)
    proc = None
    try:
        proc, url, _log = start(tree, env)
        blocked = shoot(url, out)
        if blocked:
            print(f"{sha}: refused outside requests: {blocked}", file=sys.stderr)
    finally:
        if proc is not None:
            stop(proc)
        run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(tree)])
        shutil.rmtree(parent, ignore_errors=True)
    return out


def compare(a: Path, b: Path) -> tuple[float, Image.Image]:
    """Share of pixels that differ between two PNGs, and the diff image."""
    first, second = Image.open(a).convert("RGB"), Image.open(b).convert("RGB")
    if first.size != second.size:
        second = second.resize(first.size)
    mask = ImageChops.difference(first, second).convert("L").point(lambda v: 255 if v else 0)
    share = mask.histogram()[255] / (first.width * first.height)
    faded = Image.blend(first, Image.new("RGB", first.size, "white"), 0.7)
    diff = Image.composite(Image.new("RGB", first.size, (255, 0, 0)), faded, mask)
    return share, diff


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("before")
    parser.add_argument("after")
    parser.add_argument("--out", type=Path, default=Path(tempfile.gettempdir()) / "ppap-shots")
    args = parser.parse_args(argv)
    dirs = [screenshots(commit, args.out) for commit in (args.before, args.after)]
    (args.out / "diff").mkdir(parents=True, exist_ok=True)
    print(f"| page | who | pixels differing ({dirs[0].name} vs {dirs[1].name}) |\n| --- | --- | ---: |")
    for who in ("public", "admin"):
        for name, _ in PAGES:
            shot = f"{who}-{name}.png"
            share, diff = compare(dirs[0] / shot, dirs[1] / shot)
            diff.save(args.out / "diff" / shot)
            print(f"| {name} | {who} | {share:.2%} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
