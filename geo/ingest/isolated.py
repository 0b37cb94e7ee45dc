"""Run an import in a child process with a hard memory ceiling, so the caller's process stays small.

The app's data page runs imports inside the Streamlit server, which serves every user. An import
of a large file is seconds of pure-Python work and hundreds of megabytes; run in the server, it
competes for the interpreter with every other session and leaves its memory with the server
afterwards (the allocator rarely gives it back). :func:`import_households_isolated` runs
:func:`geo.ingest.import_households` in a fresh Python process instead:

- at a lower CPU priority (``nice`` 10), so other users' reruns come first;
- with its address space capped (``RLIMIT_AS``) at what the child needed to start plus
  ``limits.max_memory_bytes`` (or ``memory_ceiling``) -- a hard ceiling behind the reader's
  estimates;
- with a time limit; and all of its memory goes back to the system when it ends.

The files go to the child through a pipe as they are (a path is read by the child itself), and
only the :class:`~geo.ingest.pipeline.ImportResult` comes back (pickled, between the two
processes of this program). Errors come back as the same exceptions
:func:`~geo.ingest.import_households` raises; running out of the ceiling or the time is an
:class:`~geo.ingest.limits.ImportLimitError` in English and Thai.
"""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from geo.errors import PPAPError
from geo.ingest.limits import MIB, ImportLimits
from geo.errors import ArgumentError, ArgumentTypeError, ImportLimitError, ImportProcessError
from geo.ingest.pipeline import ImportResult, _check_args, _load_source
from geo.text import en_th

#: Seconds an isolated import may take by default.
DEFAULT_TIMEOUT_S = 600.0
#: How much lower than the caller the child runs (``os.nice``).
CHILD_NICENESS = 10
_PROJECT_ROOT = Path(__file__).resolve().parents[2]


def _memory_error(limit: int) -> ImportLimitError:
    return ImportLimitError("memory", *en_th("limit.child_out_of_memory", limit=f"{limit / MIB:,.0f} MB"))


def import_households_isolated(
    files: Sequence[object] | object,
    *,
    limits: ImportLimits | None = None,
    timeout: float = DEFAULT_TIMEOUT_S,
    memory_ceiling: int | None = None,
    **options: object,
) -> ImportResult:
    """:func:`geo.ingest.import_households` in a child process with a memory and a time limit.

    Parameters
    ----------
    files : sequence
        As for :func:`~geo.ingest.import_households`: paths (read by the child), ``(name, bytes)``
        pairs or uploaded-file objects (their bytes are sent to the child).
    limits : ImportLimits, optional
        The import's limits (:meth:`ImportLimits.from_env` when omitted). Besides the reader's
        checks, the child's address space is capped at what it needed to start plus
        ``limits.max_memory_bytes``.
    timeout : float, default 600
        Seconds before the child is stopped.
    memory_ceiling : int, optional
        Bytes the child may take beyond what it needed to start (its ``RLIMIT_AS``);
        ``limits.max_memory_bytes`` when omitted.
    **options
        Every other keyword of :func:`~geo.ingest.import_households` (``mode``, ``store``,
        ``id_key``, ``keep_head_name``, ``sheet``, ``boundaries``, ``boundaries_problem``,
        ``now``); they are pickled to the child.

    Returns
    -------
    ImportResult
        The same result :func:`~geo.ingest.import_households` gives.

    Raises
    ------
    InputFileError, IdKeyError, ValueError, TypeError
        As :func:`~geo.ingest.import_households` does.
    ImportLimitError
        When the child runs out of its memory ceiling or its time.

    Example
    -------
    >>> csv = "household_id,survey_year,district_code,members\\nH1,2567,4609,4\\n".encode()
    >>> import_households_isolated([("a.csv", csv)]).rows_in  # doctest: +SKIP
    1
    """
    if limits is None:
        limits = ImportLimits.from_env()
    elif not isinstance(limits, ImportLimits):
        raise ArgumentTypeError(f"limits must be an ImportLimits or None, got {type(limits).__name__}")
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not timeout > 0:
        raise ArgumentError(f"timeout must be a positive number of seconds, got {timeout!r}")
    if memory_ceiling is None:
        memory_ceiling = limits.max_memory_bytes
    elif isinstance(memory_ceiling, bool) or not isinstance(memory_ceiling, int) or memory_ceiling <= 0:
        raise ArgumentError(f"memory_ceiling must be a positive number of bytes, got {memory_ceiling!r}")
    unknown = set(options) - {"mode", "store", "id_key", "keep_head_name", "sheet", "boundaries",
                              "boundaries_problem", "now"}
    if unknown:
        raise ArgumentTypeError(f"unknown import option(s): {', '.join(sorted(unknown))}")
    sources = _check_args(files, options.get("mode", "upsert"), options.get("store"),
                          options.get("keep_head_name", False), options.get("sheet"))
    # Paths are read by the child; anything else is sent as its bytes, after a small header.
    sent = [str(s) if isinstance(s, (str, os.PathLike)) else _load_source(s, limits) for s in sources]
    if options.get("store") is not None:
        options["store"] = str(options["store"])
    files = [item if isinstance(item, str) else (item[0], len(item[1])) for item in sent]
    header = pickle.dumps({"files": files, "limits": limits, "ceiling": memory_ceiling, "options": options},
                          protocol=pickle.HIGHEST_PROTOCOL)
    environment = dict(os.environ)
    environment["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(_PROJECT_ROOT), environment.get("PYTHONPATH", "")) if p)
    # Python's own small-object allocator asks for a new 1 MB arena for every pool it fills; at
    # the address-space ceiling each ask fails and it falls back to malloc, so a child near its
    # ceiling crawls on (thousands of failed mmap calls a second, minutes) instead of running
    # out. With malloc alone an allocation either fits in what the process holds or fails at once.
    environment["PYTHONMALLOC"] = "malloc"
    child = subprocess.Popen(
        [sys.executable, "-m", "geo.ingest.isolated"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        env=environment, cwd=str(_PROJECT_ROOT),
    )
    try:
        try:
            child.stdin.write(header)  # the child reads all of its input before it writes anything
            for item in sent:
                if not isinstance(item, str):
                    child.stdin.write(item[1])  # written from the caller's bytes: no copy
        except BrokenPipeError:  # the child died early; its stderr says why
            pass  # (communicate() below flushes and closes its input)
        del sent
        output, errors = child.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        child.kill()
        child.communicate()
        raise ImportLimitError("time", *en_th("limit.child_too_slow", timeout=timeout)) from None
    try:
        status, value = pickle.loads(output) if output else ("died", None)
    except (pickle.UnpicklingError, EOFError, ValueError):
        status, value = "died", None
    if status == "ok":
        return value
    if status == "error":
        raise value
    # Killed by a signal: the OOM killer, or a library that aborts when an allocation fails.
    if status == "memory" or (status == "died" and child.returncode < 0):
        raise _memory_error(memory_ceiling)
    last = errors.decode("utf-8", "replace").strip().splitlines()[-1:] or [f"exit code {child.returncode}"]
    raise ImportProcessError(*en_th("limit.child_failed", last=last[0]))


def _address_space() -> int:
    """This process's virtual memory size in bytes (Linux), or 0 when unknown."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmSize:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return 0


def _child_main() -> int:
    """The child: read the payload from stdin, import, write ``(status, value)`` to stdout."""
    out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # nothing but the result may reach the pipe, not even a C library's printf
    sys.stdout = sys.stderr
    try:
        source = sys.stdin.buffer
        header = pickle.load(source)
        limits: ImportLimits = header["limits"]
        options = header["options"]
        files = [item if isinstance(item, str) else (item[0], source.read(item[1])) for item in header["files"]]
        from geo.ingest.pipeline import import_households

        try:
            os.nice(CHILD_NICENESS)
        except OSError:
            pass
        try:
            import resource

            start = _address_space()
            if start:
                ceiling = start + header["ceiling"]
                resource.setrlimit(resource.RLIMIT_AS, (ceiling, ceiling))
        except (ImportError, ValueError, OSError):
            pass
        answer: tuple[str, object]
        try:
            answer = ("ok", import_households(files, limits=limits, **options))
        except MemoryError:
            answer = ("memory", None)
        except (PPAPError, ValueError, TypeError) as exc:
            answer = ("error", exc)
        del files
        try:
            data = pickle.dumps(answer, protocol=pickle.HIGHEST_PROTOCOL)
        except MemoryError:
            data = pickle.dumps(("memory", None))
        out.write(data)
        out.flush()
        return 0
    except MemoryError:
        out.write(pickle.dumps(("memory", None)))
        out.flush()
        return 1


if __name__ == "__main__":
    sys.exit(_child_main())
