"""Cell-key perturbation: the noise of the public release (ABS TableBuilder's method).

Why
---
Suppressing small cells protects each table on its own, but a user who can build many tables
(any area, level, H3 resolution and filter combination) can subtract one from another and get a
withheld count back exactly. The Australian Bureau of Statistics' TableBuilder answers the same
problem with *cell-key perturbation* (Fraser & Wooton 2005; Thompson, Broadfoot & Elazar 2013):

* every household gets a fixed random **record key** (here 16 bits, from a keyed hash of its
  ``household_id``, :func:`record_keys`);
* a published count's **cell key** is the sum of the record keys of the households it counts,
  modulo 2**16 (:data:`KEY_MODULUS`): the same set of households always has the same cell key,
  whatever table, area, resolution or filter it is reached through;
* the published count is the true count plus a small **noise** looked up from the cell key
  (:func:`noise`, the table :data:`NOISE_TABLE`, at most :data:`MAX_NOISE` households either way).

So asking for the same households twice gives the same figure (averaging many queries does not
remove the noise), and differencing two figures gives a difference of noises: an attacker who
subtracts "all households" from "all households and one more" learns a number that is off by up to
``2 * MAX_NOISE``, never the withheld count. :mod:`geo.engine.protect` applies it, together with the
small-count rule (counts below ``k`` are withheld). Cell keys are additive before the modulus, so
the engine sums them like counts (the ``ckey_*`` columns of :func:`geo.engine.aggregate.aggregate`).

The secret
----------
Record keys come from a keyed hash: ``$PPAP_CELL_KEY`` when set, else a random secret kept in
``<data dir>/cell_key.secret`` (written on first use, never committed). Whoever knows the secret
*and* the household ids could compute the noise, so keep the file as private as the data.
"""

from __future__ import annotations

import hashlib
import os
import secrets
from pathlib import Path

import numpy as np
import pandas as pd

from geo.data import paths

#: Environment variable holding the record-key secret (any text; 16+ characters recommended).
CELL_KEY_ENV = "PPAP_CELL_KEY"
#: Cell keys are taken modulo this (record keys are 0 .. KEY_MODULUS - 1).
KEY_MODULUS = 1 << 16
#: The noise distribution, as (noise, probability): symmetric, mean 0, most mass at 0 and +-1.
NOISE_DISTRIBUTION: tuple[tuple[int, float], ...] = (
    (-3, 0.03), (-2, 0.09), (-1, 0.21), (0, 0.34), (1, 0.21), (2, 0.09), (3, 0.03),
)
#: Largest noise either way: every published count is within this many households of the truth.
MAX_NOISE = max(abs(n) for n, _ in NOISE_DISTRIBUTION)
#: Streams decorrelate the noise of different measures of the same households (a count of
#: households and the count of their members share a cell key but not a noise; so do the sums of
#: their five capital scores, streams ``STREAM_SCORES + j``; and the sums of their five capital
#: changes between two survey rounds, streams ``STREAM_CHANGES + j``, :mod:`geo.engine.mobility`).
STREAM_HOUSEHOLDS, STREAM_PEOPLE, STREAM_SCORES, STREAM_CHANGES = 0, 1, 2, 7
_STREAM_MULTIPLIERS = (1, 40503, 20011, 53173, 9007, 61001, 33331,
                       48271, 16807, 27893, 59359, 12345)  # odd: a permutation of the keys
#: A sum of capital scores moves by this many score points per unit of noise (scores are 1.0-4.0),
#: so differencing two means of nearly the same households tells nothing of one household's scores.
SCORE_NOISE_SCALE = 1.0


def _noise_table() -> np.ndarray:
    cumulative = np.cumsum([p for _, p in NOISE_DISTRIBUTION])
    cumulative /= cumulative[-1]
    u = (np.arange(KEY_MODULUS) + 0.5) / KEY_MODULUS
    values = np.array([n for n, _ in NOISE_DISTRIBUTION], dtype=np.int8)
    return values[np.searchsorted(cumulative, u, side="right").clip(0, len(values) - 1)]


#: Noise by cell key (int8, one entry per key 0 .. KEY_MODULUS - 1).
NOISE_TABLE: np.ndarray = _noise_table()


def secret_path() -> Path:
    """Where the record-key secret is kept when ``$PPAP_CELL_KEY`` is not set."""
    return paths.data_dir() / "cell_key.secret"


def cell_key_secret() -> str:
    """The record-key secret: ``$PPAP_CELL_KEY``, else the file :func:`secret_path` (made once,
    mode 0600, with 32 random hex digits)."""
    value = os.environ.get(CELL_KEY_ENV, "").strip()
    if value:
        return value
    path = secret_path()
    try:
        return path.read_text(encoding="utf-8").strip() or _new_secret(path)
    except FileNotFoundError:
        return _new_secret(path)


def _new_secret(path: Path) -> str:
    value = secrets.token_hex(16)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.write(fd, value.encode("ascii"))
    finally:
        os.close(fd)
    return value


def record_keys(household_ids: pd.Series, *, secret: str | None = None) -> np.ndarray:
    """Each household's record key (uint16), from a keyed SipHash of its ``household_id``.

    Parameters
    ----------
    household_ids : pandas.Series
        Household identifiers (text). The same id always gets the same key under one secret.
    secret : str, optional
        Default :func:`cell_key_secret`.

    Returns
    -------
    numpy.ndarray
        uint16, one key per id.

    Example
    -------
    >>> record_keys(pd.Series(["46-000001", "46-000002"]), secret="test").dtype
    dtype('uint16')
    """
    secret = cell_key_secret() if secret is None else secret
    # pandas' vectorised SipHash takes a 16-character key: derive one from the secret.
    digest = hashlib.sha256(secret.encode("utf-8")).digest()
    hash_key = "".join(chr(33 + b % 94) for b in digest[:16])
    hashed = pd.util.hash_pandas_object(household_ids.astype("string").fillna(""), index=False,
                                        hash_key=hash_key).to_numpy()
    return (hashed % np.uint64(KEY_MODULUS)).astype(np.uint16)


def noise(cell_keys: np.ndarray, *, stream: int = STREAM_HOUSEHOLDS) -> np.ndarray:
    """The noise (int64) of each cell key: ``NOISE_TABLE[(key * m_stream) mod 2**16]``.

    ``cell_keys`` are sums of record keys (any non-negative integers; NaN counts as 0).
    """
    keys = np.nan_to_num(np.asarray(cell_keys, dtype=np.float64), nan=0.0)
    keys = np.rint(keys).astype(np.int64) % KEY_MODULUS
    mixed = (keys * _STREAM_MULTIPLIERS[stream]) % KEY_MODULUS
    return NOISE_TABLE[mixed].astype(np.int64)


def perturb(counts: np.ndarray, cell_keys: np.ndarray, *, stream: int = STREAM_HOUSEHOLDS) -> np.ndarray:
    """``counts + noise(cell_keys)``, never below 0, and 0 where the true count is 0 (an empty set
    of households has no noise to draw). int64."""
    counts = np.rint(np.nan_to_num(np.asarray(counts, dtype=np.float64), nan=0.0)).astype(np.int64)
    return np.where(counts > 0, np.maximum(counts + noise(cell_keys, stream=stream), 0), 0)


def expected_abs_noise() -> float:
    """Mean absolute noise of a published count, from :data:`NOISE_DISTRIBUTION` (households)."""
    return float(sum(abs(n) * p for n, p in NOISE_DISTRIBUTION))
