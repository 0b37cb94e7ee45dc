"""The engine's packed household codes and the tables that turn them into indicators.

A household's *profile* packs its level, assistance status, TPMAP status and verification into one
byte: ``(level - 1) + 4 * assistance + 20 * in_tpmap + 40 * verified`` (:data:`N_PROFILES` values); its
*deficit code* and *deprivation code* are 5-bit masks (bit j = capital j below the cut-off, or TPMAP
deprivation j). :mod:`geo.engine.aggregate` and :mod:`geo.engine.cube` count histograms of these
codes and turn them into indicators with the tables here.
"""

from __future__ import annotations

import numpy as np

from geo.data.contract import ASSISTANCE_STATUSES

N_LEVELS = 4
N_ASSIST = len(ASSISTANCE_STATUSES)
# profile = (level - 1) + 4 * assistance + 20 * in_tpmap + 40 * verified: 80 values in one byte.
N_PROFILES = N_LEVELS * N_ASSIST * 2 * 2


# Tables turning packed codes into indicators (rows: code, columns: indicator).
def profile_table() -> np.ndarray:
    codes = np.arange(N_PROFILES)
    level = codes % N_LEVELS
    assist = (codes // N_LEVELS) % N_ASSIST
    tpmap = (codes // (N_LEVELS * N_ASSIST)) % 2
    verified = codes // (N_LEVELS * N_ASSIST * 2)
    cols = [level == lv for lv in range(N_LEVELS)]
    cols += [assist == s for s in range(N_ASSIST)]
    cols += [tpmap == 0, verified == 1]
    return np.column_stack(cols).astype(np.float64)


PROFILE_TABLE = profile_table()  # 4 levels, 5 statuses, not in TPMAP, verified
BITS = np.array([[(code >> j) & 1 for j in range(5)] for code in range(32)], dtype=np.float64)
POPCOUNT = BITS.sum(axis=1)
