"""The process allocator setting (geo.engine.allocator)."""

from __future__ import annotations

import platform
import subprocess
import sys

import pytest

from geo.engine.allocator import keep_freed_memory


@pytest.mark.skipif(platform.system() != "Linux" or platform.libc_ver()[0] != "glibc", reason="glibc only")
def test_glibc_accepts_every_setting_and_a_big_array_reuses_freed_memory():
    """In a fresh process: with the setting, a second 64 MB array of the same size faults no new
    pages in (glibc kept the first's); without it, it does (glibc handed the first's back)."""
    script = """
import resource, sys
import numpy as np
from geo.engine.allocator import keep_freed_memory
if sys.argv[1] == "keep":
    assert keep_freed_memory()
def faults():
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(2):
    parts = [np.ones(2**20) for _ in range(8)]  # 8 blocks of 8 MiB, under the 32 MiB threshold
    del parts
before = faults()
parts = [np.ones(2**20) for _ in range(8)]
print(faults() - before)
"""
    counts = {}
    for mode in ("keep", "default"):
        done = subprocess.run([sys.executable, "-c", script, mode], capture_output=True, text=True, timeout=60, check=True)
        counts[mode] = int(done.stdout.strip())
    assert counts["keep"] < 200 < counts["default"], counts


def test_calling_it_twice_is_harmless():
    first = keep_freed_memory()
    assert keep_freed_memory() == first
