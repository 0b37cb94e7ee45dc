"""Benchmark of pilot impact: ``python -m bench pilot-impact [--households 1000000,2000000]``.

For each size ``N`` it makes the mobility benchmark's two rounds of ``N`` households
(:func:`bench.mobility.two_round_frame`: 80% of the later round followed, 40 pilots over 2% of
households in every district), pairs them without H3 cells, and times
:func:`geo.engine.pilot_impact.pilot_impact` (vectorised by stratum) against the loop-per-pilot
implementation it replaced (``_reference_pilot_impact`` in ``tests/geo/test_pilot_impact_reference.py``),
in the same process, alternating which runs first, public and exact release; both tables are
checked equal (values to 1e-9). Timings are the best of ``--repeat`` runs (``time.perf_counter``).
"""

from __future__ import annotations

import argparse
import json
import resource
import time

import pandas as pd

from geo.checks import check_int


def measure(n: int, *, repeat: int = 2) -> dict:
    """The figures for ``n`` households per round (see the module docstring)."""
    from bench.mobility import two_round_frame
    from geo.engine.mobility import pair_rounds
    from geo.engine.pilot_impact import pilot_impact
    from tests.geo.test_pilot_impact_reference import _reference_pilot_impact

    n = check_int(n, "households", minimum=100)
    frame = two_round_frame(n)
    pairs = pair_rounds(frame, 2021, 2023, h3_resolutions=())
    del frame
    figures: dict = {"households_per_round": n, "pairs": len(pairs),
                     "followed": int((pairs["status"] == "followed").sum()),
                     "pilots": int(pd.concat([pairs["pilot_from"], pairs["pilot_to"]]).nunique())}
    for exact in (False, True):
        best = {"reference": float("inf"), "vectorised": float("inf")}
        tables = {}
        for r in range(repeat):
            runs = (("reference", _reference_pilot_impact), ("vectorised", pilot_impact))
            for label, fn in (runs if r % 2 == 0 else runs[::-1]):
                start = time.perf_counter()
                tables[label] = fn(pairs, exact=exact)
                best[label] = min(best[label], time.perf_counter() - start)
        try:
            pd.testing.assert_frame_equal(tables["vectorised"], tables["reference"], check_exact=False, rtol=1e-9)
            equal = True
        except AssertionError:
            equal = False
        figures["exact" if exact else "public"] = {
            "reference_s": best["reference"], "vectorised_s": best["vectorised"],
            "speedup": best["reference"] / best["vectorised"], "equal": equal}
    figures["peak_rss_gb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6
    return figures


def _print(results: list[dict]) -> None:
    print("| households per round | pairs | release | loop per pilot | vectorised | speedup | equal |")
    print("| ---: | ---: | --- | ---: | ---: | ---: | --- |")
    for f in results:
        for release in ("public", "exact"):
            row = f[release]
            print(f"| {f['households_per_round']:,} | {f['pairs']:,} | {release} "
                  f"| {row['reference_s'] * 1000:,.0f} ms | {row['vectorised_s'] * 1000:,.0f} ms "
                  f"| {row['speedup']:.1f}x | {'yes' if row['equal'] else 'NO'} |")
    print(f"peak RSS {max(f['peak_rss_gb'] for f in results):.1f} GB")


def _cmd(args: argparse.Namespace) -> int:
    sizes = [int(part) for part in str(args.households).replace("_", "").split(",") if part.strip()]
    results = [measure(n, repeat=args.repeat) for n in sizes]
    if args.json:
        print(json.dumps(results, indent=2, default=float))
    else:
        _print(results)
    return 0


def add_commands(subparsers: argparse._SubParsersAction) -> None:
    """Add ``pilot-impact`` to the ``python -m bench`` command line."""
    parser = subparsers.add_parser("pilot-impact", help="benchmark pilot impact against the loop-per-pilot version",
                                   description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--households", default="1000000,2000000", metavar="N[,N]",
                        help="households per round, comma-separated (default 1,000,000 and 2,000,000)")
    parser.add_argument("--repeat", type=int, default=2, help="repeats per timing, the best is kept (default 2)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.set_defaults(func=_cmd)
