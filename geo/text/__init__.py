"""The registry of label text: every word a user reads, in Thai and English, in one package.

Every layer may import it (it sits at the bottom, beside ``geo.errors``, and imports only
``geo.errors``): the data contract and the import reports need words as much as the pages do. One
catalogue module per domain, each a plain ``dict`` of ``key -> {"th": ..., "en": ...}``:

- :mod:`geo.text.contract`: the capitals, household levels, deprivations and assistance statuses
  (keyed by the contract's values; reached here as ``capital.human``, ``level.1``, ...) and the
  survey-round refusals (``round.<key>``);
- :mod:`geo.text.ingest`: the import reports' reason messages (``reason.<code>``), the import
  limits' refusals (``limit.<key>``) and where in a file (``where.line``);
- :mod:`geo.text.access`: the roles' names (``role.<role>``), access refusals
  (``access.denied_<why>``), scopes in words (``access.scope_<kind>``), the public viewer's notice
  and the login box (``access.<key>``);
- :mod:`geo.text.views`: the pages, maps, tables, legends and exports.

:func:`label` is the one lookup; :func:`en_th` and :func:`th_en` give both languages at once (the
two messages of an error). ``geo.views.text`` keeps the formatting helpers (numbers, dates,
area names, withheld counts) and takes its words from here.
"""

from __future__ import annotations

from collections.abc import Mapping

from geo.errors import ArgumentError
from geo.text import access, contract, ingest, views

LANGUAGES: tuple[str, ...] = ("th", "en")


def _catalogue() -> dict[str, Mapping[str, str]]:
    merged: dict[str, Mapping[str, str]] = dict(views.TEXT)
    for prefix, table in (("capital", contract.CAPITAL_LABELS), ("level", contract.LEVELS),
                          ("deprivation", contract.DEPRIVATION_LABELS), ("assistance", contract.ASSISTANCE_LABELS),
                          ("round", contract.ROUND_MESSAGES),
                          ("reason", ingest.REASON_MESSAGES), ("limit", ingest.LIMIT_MESSAGES),
                          ("where", ingest.WHERE_WORDS), ("access", access.ACCESS_TEXT),
                          ("role", access.ROLE_WORDS)):
        merged.update({f"{prefix}.{value}": words for value, words in table.items()})
    return merged


#: Every label by key, from every catalogue (keys are unique across catalogues:
#: tests/geo/test_text_registry.py counts them).
CATALOGUE: dict[str, Mapping[str, str]] = _catalogue()


def label(key: str, lang: str = "th", **values: object) -> str:
    """The label ``key`` in ``lang`` (``"th"`` or ``"en"``), ``{placeholders}`` filled from ``values``.

    Raises
    ------
    KeyError
        When ``key`` is not in the registry (a missing label is a bug, not a fallback).
    geo.errors.ArgumentError
        When ``lang`` is not ``"th"`` or ``"en"``.

    Example
    -------
    >>> label("capital.human", "en")
    'Human capital'
    >>> label("suppressed", "en", k=10)
    'Fewer than 10 households (withheld)'
    """
    if lang not in LANGUAGES:
        raise ArgumentError(f"lang must be one of {LANGUAGES}, got {lang!r}")
    words = CATALOGUE[key][lang]
    return words.format(**values) if values else words


def en_th(key: str, **values: object) -> tuple[str, str]:
    """The label ``key`` in English and in Thai, filled from ``values``: the two messages a
    :class:`geo.errors.PPAPError` takes.

    Example
    -------
    >>> en_th("limit.more_than", limit="50 MB")
    ('more than 50 MB', 'มากกว่า 50 MB')
    """
    return label(key, "en", **values), label(key, "th", **values)


def th_en(key: str, **values: object) -> tuple[str, str]:
    """The label ``key`` in Thai and in English, filled from ``values``: the two messages a
    :class:`geo.errors.AccessDenied` takes (Thai first; :func:`en_th` gives the other order, which
    :class:`geo.errors.PPAPError` takes). ``" · ".join(th_en(key))`` is the bilingual form a button
    shows before a language is known.

    Example
    -------
    >>> th_en("access.denied_import")
    ('บทบาทนี้ไม่มีสิทธิ์นำเข้าข้อมูล', 'Your role may not import data')
    >>> " · ".join(th_en("access.log_in"))
    'เข้าสู่ระบบ · Log in'
    """
    english, thai = en_th(key, **values)
    return thai, english
