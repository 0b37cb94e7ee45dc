"""Thai 13-digit national IDs: the check-digit rule, a keyed hash, and a mask for display.

The raw number is personal data. PPAP Atlas never stores it, never writes it to a report or a
download, and never logs it: the importer checks it with :func:`is_valid_national_id`, replaces it
with :func:`hash_national_id` (HMAC-SHA256 under a secret key) and, where a person must find the
row again, shows :func:`mask_national_id`.

The key comes from the caller (the app passes its Streamlit secret) or from the environment
variable :data:`ID_HASH_KEY_ENV` (see :func:`id_hash_key`). Without a key IDs are refused.
"""

from __future__ import annotations

import hashlib
import hmac
import operator
import os
import re
from collections.abc import Mapping

from geo.errors import ArgumentError, IdKeyError

#: Environment variable that holds the key for :func:`hash_national_id`.
ID_HASH_KEY_ENV = "PPAP_ID_HASH_KEY"
#: Shortest key accepted: a short key would let anyone who sees a hash try every ID.
MIN_KEY_LENGTH = 16

_DIGITS = str.maketrans("๐๑๒๓๔๕๖๗๘๙０１２３４５６７８９", "01234567890123456789")
_SEPARATORS = re.compile(r"[\s\-./]+")
_WEIGHTS = tuple(range(13, 1, -1))  # digit i (0..11) counts 13 - i times


def national_id_check_digit(first12: str) -> int:
    """Return the check digit for the first 12 digits of a national ID.

    The rule (docs/DOMAIN.md): ``s = sum(digit[i] * (13 - i) for i in 0..11)``, check digit
    ``(11 - s mod 11) mod 10``.

    Parameters
    ----------
    first12 : str
        Exactly twelve ASCII digits.

    Returns
    -------
    int
        The thirteenth digit, 0-9.

    Raises
    ------
    ValueError
        When ``first12`` is not twelve ASCII digits.

    Example
    -------
    >>> national_id_check_digit("110170020345")
    0
    """
    if not (isinstance(first12, str) and len(first12) == 12 and first12.isascii() and first12.isdigit()):
        raise ArgumentError(f"first12 must be 12 ASCII digits, got a value of length {len(str(first12))}")
    total = sum(map(operator.mul, map(int, first12), _WEIGHTS))
    return (11 - total % 11) % 10


def normalise_national_id(text: object) -> str:
    """Return ``text`` with Thai or full-width digits made ASCII and dashes, dots, spaces removed.

    The result is not checked; pass it to :func:`is_valid_national_id`.

    Example
    -------
    >>> normalise_national_id("1-1017-00203-45-0")
    '1101700203450'
    """
    return _SEPARATORS.sub("", str(text).translate(_DIGITS))


def is_valid_national_id(text: object) -> bool:
    """True when ``text`` is a 13-digit national ID with a correct check digit; never raises.

    Dashes, spaces and Thai digits are allowed (``"๑-๑๐๑๗-๐๐๒๐๓-๔๕-๐"``).

    Example
    -------
    >>> is_valid_national_id("1-1017-00203-45-0"), is_valid_national_id("1101700203452")
    (True, False)
    """
    if text is None:
        return False
    digits = normalise_national_id(text)
    if len(digits) != 13 or not (digits.isascii() and digits.isdigit()):
        return False
    return national_id_check_digit(digits[:12]) == int(digits[12])


def check_id_hash_key(key: object) -> bytes:
    """Return ``key`` as bytes, or raise when it is missing or too short to be safe.

    Raises
    ------
    IdKeyError
        When ``key`` is empty, not text/bytes, or shorter than :data:`MIN_KEY_LENGTH`. The message
        gives the length, never the key.
    """
    if isinstance(key, str):
        key = key.encode("utf-8")
    if not isinstance(key, bytes) or not key:
        raise IdKeyError(
            f"id_key: no key for hashing national IDs; set {ID_HASH_KEY_ENV} (or the app's secret) "
            f"to a random text of at least {MIN_KEY_LENGTH} characters"
        )
    if len(key) < MIN_KEY_LENGTH:
        raise IdKeyError(
            f"id_key: the key for hashing national IDs is {len(key)} bytes long; "
            f"use at least {MIN_KEY_LENGTH}"
        )
    return key


def hash_national_id(national_id: str, key: str | bytes) -> str:
    """Return the keyed hash that stands for a national ID in the store.

    Parameters
    ----------
    national_id : str
        A valid ID (checked with :func:`is_valid_national_id`; separators allowed).
    key : str or bytes
        The secret key, at least :data:`MIN_KEY_LENGTH` bytes.

    Returns
    -------
    str
        64 lower-case hex characters: HMAC-SHA256 of the 13 ASCII digits.

    Raises
    ------
    ValueError
        When ``national_id`` is not a valid ID (the message does not repeat it).
    IdKeyError
        When the key is missing or too short.

    Example
    -------
    >>> len(hash_national_id("1101700203450", "k" * 16))
    64
    """
    key_bytes = check_id_hash_key(key)
    if not is_valid_national_id(national_id):
        raise ArgumentError("national_id is not a valid 13-digit national ID")
    digits = normalise_national_id(national_id)
    return hmac.new(key_bytes, digits.encode("ascii"), hashlib.sha256).hexdigest()


def mask_national_id(text: object) -> str:
    """Return a display form that keeps only the last four digits (``"XXXXXXXXX3450"``).

    Anything that is not at least four digits after normalising is masked completely, so the
    mask never leaks a value that was typed into the wrong column.

    Example
    -------
    >>> mask_national_id("1-1017-00203-45-0")
    'XXXXXXXXX3450'
    >>> mask_national_id("")
    ''
    """
    if text is None:
        return ""
    digits = normalise_national_id(text)
    if not digits:
        return ""
    if len(digits) < 4 or not (digits.isascii() and digits.isdigit()):
        return "X" * min(len(digits), 13)
    return "X" * max(len(digits) - 4, 0) + digits[-4:]


def id_hash_key(secret: str | bytes | None = None, environ: Mapping[str, str] | None = None) -> str | bytes | None:
    """Return the key to hash IDs with: ``secret`` when given, else ``$PPAP_ID_HASH_KEY``, else None.

    Parameters
    ----------
    secret : str or bytes, optional
        A key the caller already holds (the app passes ``st.secrets``' value).
    environ : mapping, optional
        Where to look for :data:`ID_HASH_KEY_ENV`; ``os.environ`` when omitted.

    Example
    -------
    >>> id_hash_key(None, {"PPAP_ID_HASH_KEY": "s3cret-s3cret-s3cret"})
    's3cret-s3cret-s3cret'
    """
    if secret:
        return secret
    env = os.environ if environ is None else environ
    return env.get(ID_HASH_KEY_ENV) or None
