"""Input checks shared by the geo engine (indexing, aggregation, filters, verification, protection).

Each check raises :class:`~geo.errors.PPAPError`'s subclass :class:`EngineInputError` with a
message that names the argument, shows the bad value and says what is allowed, then returns the
value in its normalised form so callers can write ``res = check_resolution(res)``.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence

import numpy as np
import pandas as pd

from geo.errors import EngineInputError

#: H3 resolutions the engine aggregates at (res 5 is about 250 km², res 10 about 0.015 km²).
H3_RESOLUTIONS: tuple[int, ...] = (5, 6, 7, 8, 9, 10)


def _shown(value: object, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def check_int(value: object, name: str, *, minimum: int | None = None, maximum: int | None = None) -> int:
    """Return ``value`` as an ``int`` or raise naming ``name``, the value and the allowed range.

    Example
    -------
    >>> check_int(3, "k", minimum=1)
    3
    """
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise EngineInputError(f"{name} must be an integer, got {_shown(value)}")
    number = int(value)
    if (minimum is not None and number < minimum) or (maximum is not None and number > maximum):
        low = "-inf" if minimum is None else str(minimum)
        high = "inf" if maximum is None else str(maximum)
        raise EngineInputError(f"{name} must be between {low} and {high}, got {number}")
    return number


def check_float(value: object, name: str, *, minimum: float | None = None, maximum: float | None = None) -> float:
    """Return ``value`` as a finite ``float`` or raise naming ``name``, the value and the range."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise EngineInputError(f"{name} must be a number, got {_shown(value)}")
    number = float(value)
    if not np.isfinite(number):
        raise EngineInputError(f"{name} must be a finite number, got {number}")
    if (minimum is not None and number < minimum) or (maximum is not None and number > maximum):
        low = "-inf" if minimum is None else f"{minimum:g}"
        high = "inf" if maximum is None else f"{maximum:g}"
        raise EngineInputError(f"{name} must be between {low} and {high}, got {number:g}")
    return number


def check_resolution(res: object, name: str = "res", allowed: Sequence[int] = H3_RESOLUTIONS) -> int:
    """Return an H3 resolution from ``allowed`` or raise.

    Example
    -------
    >>> check_resolution(8)
    8
    """
    if isinstance(res, bool) or not isinstance(res, (int, np.integer)) or int(res) not in allowed:
        raise EngineInputError(f"{name} must be one of {list(allowed)}, got {_shown(res)}")
    return int(res)


def check_choice(value: object, name: str, allowed: Collection[str]) -> str:
    """Return ``value`` when it is one of ``allowed`` or raise listing them.

    Example
    -------
    >>> check_choice("district", "by", ("h3", "district"))
    'district'
    """
    if not isinstance(value, str) or value not in allowed:
        raise EngineInputError(f"{name} must be one of {list(allowed)}, got {_shown(value)}")
    return value


def check_choices(values: object, name: str, allowed: Collection[str] | None = None) -> tuple[str, ...] | None:
    """Return a tuple of strings (or ``None`` for "no restriction") or raise.

    A single string is taken as a one-element selection. ``allowed`` restricts the values.
    """
    if values is None:
        return None
    if isinstance(values, str):
        values = (values,)
    if not isinstance(values, Iterable):
        raise EngineInputError(f"{name} must be a list of strings, got {_shown(values)}")
    out = tuple(values)
    bad = [v for v in out if not isinstance(v, str) or (allowed is not None and v not in allowed)]
    if bad:
        what = f"one of {list(allowed)}" if allowed is not None else "strings"
        raise EngineInputError(f"{name} must hold {what}, got {_shown(bad)}")
    return out


def check_codes(values: object, name: str, width: int) -> tuple[str, ...] | None:
    """Return DOPA codes of ``width`` digits as a tuple (``None`` means no restriction) or raise.

    Example
    -------
    >>> check_codes(["46", "34"], "provinces", 2)
    ('46', '34')
    """
    codes = check_choices(values, name)
    if codes is None:
        return None
    bad = [c for c in codes if len(c) != width or not (c.isascii() and c.isdigit())]
    if bad:
        raise EngineInputError(f"{name} must be {width}-digit DOPA codes like {'4609'[:width]!r}, got {_shown(bad)}")
    return codes


def check_ints(values: object, name: str, allowed: Collection[int]) -> tuple[int, ...] | None:
    """Return a tuple of integers from ``allowed`` (``None`` means no restriction) or raise."""
    if values is None:
        return None
    if isinstance(values, (int, np.integer)) and not isinstance(values, bool):
        values = (values,)
    if not isinstance(values, Iterable) or isinstance(values, str):
        raise EngineInputError(f"{name} must be a list of integers from {sorted(allowed)}, got {_shown(values)}")
    out = tuple(values)
    bad = [v for v in out if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or int(v) not in allowed]
    if bad:
        raise EngineInputError(f"{name} must hold integers from {sorted(allowed)}, got {_shown(bad)}")
    return tuple(int(v) for v in out)


def check_bool_or_none(value: object, name: str) -> bool | None:
    """Return ``True``, ``False`` or ``None`` (no restriction) or raise."""
    if value is None or isinstance(value, (bool, np.bool_)):
        return None if value is None else bool(value)
    raise EngineInputError(f"{name} must be True, False or None, got {_shown(value)}")


def check_columns(frame: object, name: str, columns: Iterable[str]) -> pd.DataFrame:
    """Return ``frame`` when it is a DataFrame holding every column in ``columns`` or raise."""
    if not isinstance(frame, pd.DataFrame):
        raise EngineInputError(f"{name} must be a pandas DataFrame, got {type(frame).__name__}")
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise EngineInputError(f"{name} is missing columns {missing}; it has {list(frame.columns)[:20]}")
    return frame


def check_same_length(name_a: str, a: np.ndarray, name_b: str, b: np.ndarray) -> None:
    """Raise when two arrays that go together differ in length."""
    if len(a) != len(b):
        raise EngineInputError(f"{name_a} and {name_b} must have the same length, got {len(a)} and {len(b)}")
