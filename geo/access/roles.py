"""Who may see what: roles, area scopes, enforcement, the access configuration and local logins.

Every function that hands household data to a page takes the :class:`User` and returns only what
the user's role and area scope allow, so hiding a page is never the only protection. The rules
are data (:data:`ROLE_CAPABILITIES`); ``docs/ACCESS.md`` is their human-readable twin.

Roles and scopes
----------------
``administrator``       everything, household rows with exact positions, imports, the audit log
``provincial_officer``  one or more provinces (and so every district and subdistrict in them)
``district_officer``    one or more districts (and every subdistrict in them)
``researcher``          every area, protected aggregates only, H3 down to res 8
``viewer``              every area, protected aggregates only, H3 down to res 7 (presenters; the
                        public viewer when no authentication is configured)

Officers see *only* their scope, aggregates included. Out-of-scope requests are refused with
:class:`AccessDenied` (Thai and English text); a request for "everything" is narrowed to the
user's scope (see :func:`scope_filter`).

Configuration
-------------
A TOML file the deployer edits (default ``config/access.toml``, or ``$PPAP_ACCESS_CONFIG``; see
``config/access.example.toml``) lists users and how they log in: ``mode = "oidc"`` (Streamlit's
``st.login``), ``"local"`` (usernames and scrypt password hashes in the file) or ``"none"``
(everyone is the public viewer). :func:`load_access_config` checks it and names the bad key.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import hashlib
import hmac
import os
import re
import secrets
import threading
import time
import tomllib
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TypeVar
from types import MappingProxyType

import geothai
import numpy as np
import pandas as pd

from geo.engine.aggregate import HouseholdIndex
from geo.checks import H3_RESOLUTIONS, check_int, check_resolution
from geo.data.areas import coded_name
from geo.data.store import MODES
from geo.data.contract import HOUSEHOLD_COLUMN_NAMES, round_positions
from geo.errors import AccessConfigError, AccessDenied, ArgumentError, ArgumentTypeError, ConfigError
from geo.engine.filters import HouseholdFilter, filter_mask
from geo.data.paths import PROJECT_ROOT
from geo.engine.protect import DEFAULT_MIN_COUNT
from geo.text import LANGUAGES, label, th_en
from geo.text.access import ROLE_WORDS

# ---------------------------------------------------------------------------------------------
# Errors
# ---------------------------------------------------------------------------------------------


# ---------------------------------------------------------------------------------------------
# Roles and capabilities (data, not code)
# ---------------------------------------------------------------------------------------------

#: The roles, most powerful first.
ROLES: tuple[str, ...] = ("administrator", "provincial_officer", "district_officer", "researcher", "viewer")
ROLE_LABELS: Mapping[str, Mapping[str, str]] = MappingProxyType(ROLE_WORDS)  # geo.text.access
#: Decimals officers see household positions at: a 0.001-degree grid is about 111 m north-south
#: and 107 m east-west at Thai latitudes (15 N); a shown position is within about 78 m of the true one.
OFFICER_POSITION_DECIMALS = 3


@dataclass(frozen=True)
class Capabilities:
    """What a role may do. Scope (which areas) is separate: see :class:`Scope`.

    Attributes
    ----------
    may_see_household_rows : bool
        Household-level rows (:func:`household_rows`), always limited to the scope.
    may_import : bool
        Import households for the scope (``append`` mode) via :func:`check_import`.
    may_replace_store : bool
        ``replace`` imports, which swap the whole store (every province).
    may_see_precise_positions : bool
        Exact ``lat``/``lon`` in rows; otherwise rounded to ``position_decimals``.
    position_decimals : int or None
        Decimals positions are rounded to in rows; ``None`` for exact.
    max_h3_res : int
        Finest H3 resolution the role may aggregate at (:func:`cap_resolution`).
    min_count : int
        Smallest ``k`` the role may pass to :func:`geo.engine.protect.protect` (:func:`check_min_count`).
    may_read_audit : bool
        Read and export the audit log.
    may_keep_names : bool
        Import with household heads' names kept (``keep_head_name``); rows never show them.
    national : bool
        Sees every area (aggregates); officers see only their configured areas.
    exact_counts : bool
        Sees exact counts (:func:`geo.engine.protect.release_exact`) in its scope; otherwise every figure
        is the public release, perturbed by cell key (:func:`geo.engine.protect.release_perturbed`).
    """

    may_see_household_rows: bool
    may_import: bool
    may_replace_store: bool
    may_see_precise_positions: bool
    position_decimals: int | None
    max_h3_res: int
    min_count: int
    may_read_audit: bool
    may_keep_names: bool
    national: bool
    exact_counts: bool = False


_OFFICER = Capabilities(
    may_see_household_rows=True, may_import=True, may_replace_store=False, may_see_precise_positions=False,
    position_decimals=OFFICER_POSITION_DECIMALS, max_h3_res=9, min_count=DEFAULT_MIN_COUNT, may_read_audit=False,
    may_keep_names=False, national=False, exact_counts=True,
)
#: The capability matrix. ``docs/ACCESS.md`` shows it as a table; tests check every cell.
ROLE_CAPABILITIES: Mapping[str, Capabilities] = MappingProxyType({
    "administrator": Capabilities(
        may_see_household_rows=True, may_import=True, may_replace_store=True, may_see_precise_positions=True,
        position_decimals=None, max_h3_res=10, min_count=1, may_read_audit=True, may_keep_names=True,
        national=True, exact_counts=True,
    ),
    "provincial_officer": _OFFICER,
    "district_officer": _OFFICER,
    "researcher": Capabilities(
        may_see_household_rows=False, may_import=False, may_replace_store=False, may_see_precise_positions=False,
        position_decimals=OFFICER_POSITION_DECIMALS, max_h3_res=8, min_count=DEFAULT_MIN_COUNT,
        may_read_audit=False, may_keep_names=False, national=True,
    ),
    "viewer": Capabilities(
        may_see_household_rows=False, may_import=False, may_replace_store=False, may_see_precise_positions=False,
        position_decimals=OFFICER_POSITION_DECIMALS, max_h3_res=7, min_count=DEFAULT_MIN_COUNT,
        may_read_audit=False, may_keep_names=False, national=True,
    ),
})

# ---------------------------------------------------------------------------------------------
# Areas
# ---------------------------------------------------------------------------------------------

_USERNAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@+\-]{0,63}$")
_SESSION_ID = re.compile(r"^[A-Za-z0-9_\-]{0,64}$")


def new_session_id() -> str:
    """A new anonymous session id: 12 random lower-case letters (56 bits). Letters only, so the
    audit log's redaction of digit runs (national IDs, phone numbers) never rewrites one."""
    return "".join(secrets.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(12))
#: Username of :func:`public_viewer`; reserved, so no configured user can take it.
PUBLIC_USERNAME = "public"
_CACHE_USERNAME = "scope-key"


def _shown(value: object, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def is_province_code(code: object) -> bool:
    """True when ``code`` is the 2-digit DOPA code of a current province; never raises.

    Example
    -------
    >>> is_province_code("46"), is_province_code("99"), is_province_code(46)
    (True, False, False)
    """
    return (isinstance(code, str) and len(code) == 2 and code.isascii() and code.isdigit()
            and geothai.province(code) is not None)


def is_district_code(code: object) -> bool:
    """True when ``code`` is the 4-digit DOPA code of a current district; never raises.

    Example
    -------
    >>> is_district_code("4609"), is_district_code("4699")
    (True, False)
    """
    return (isinstance(code, str) and len(code) == 4 and code.isascii() and code.isdigit()
            and geothai.district(code) is not None)


def _codes_tuple(values: object, name: str, width: int, is_valid: Callable[[object], bool],
                 kind: str) -> tuple[str, ...]:
    if values is None:
        return ()
    if isinstance(values, str) or not isinstance(values, Iterable):
        raise AccessConfigError(
            f"{name} must be a list of {width}-digit {kind} codes like {['46', '4609'][width // 4]!r}, "
            f"got {_shown(values)}"
        )
    out = tuple(values)
    for code in out:
        if not (isinstance(code, str) and len(code) == width and code.isascii() and code.isdigit()):
            raise AccessConfigError(
                f"{name} must hold {width}-digit {kind} codes (text, in quotes) like "
                f"{['46', '4609'][width // 4]!r}, got {_shown(code)}"
            )
        if not is_valid(code):
            raise AccessConfigError(f"{name}: {code!r} is not a current Thai {kind} code (checked with geothai)")
    return tuple(sorted(set(out)))


@dataclass(frozen=True)
class Scope:
    """The areas a user may see. ``None`` means "every".

    Parameters
    ----------
    provinces : tuple of str or None
        Province codes; ``None`` for every province (administrator, researcher, viewer).
    districts : tuple of str or None
        District codes; ``None`` for every district of ``provinces`` (provincial officers).

    Example
    -------
    >>> Scope(provinces=("46",)).includes("460901"), Scope(provinces=("46",)).includes("3401")
    (True, False)
    """

    provinces: tuple[str, ...] | None = None
    districts: tuple[str, ...] | None = None

    @property
    def is_national(self) -> bool:
        """True when the scope holds every area."""
        return self.provinces is None and self.districts is None

    def includes(self, code: str) -> bool:
        """True when the whole area ``code`` (2, 4 or 6 digits) lies in the scope; never raises."""
        if not isinstance(code, str) or len(code) not in (2, 4, 6):
            return False
        if self.is_national:
            return True
        if len(code) == 2:
            return self.districts is None and code in (self.provinces or ())
        district = code[:4]
        if self.districts is not None:
            return district in self.districts
        return district[:2] in (self.provinces or ())

    def overlaps(self, code: str) -> bool:
        """True when some part of area ``code`` lies in the scope (a district officer's province)."""
        if isinstance(code, str) and len(code) == 2:
            return self.is_national or code in (self.provinces or ())
        return self.includes(code)

    @property
    def key(self) -> str:
        """``"all"``, ``"p:34,46"`` or ``"d:4602,4609"``: sorted, stable across runs."""
        if self.is_national:
            return "all"
        if self.districts is not None:
            return "d:" + ",".join(self.districts)
        return "p:" + ",".join(self.provinces or ())

    def describe(self, lang: str = "en") -> str:
        """The scope in words, e.g. ``"provinces 46 Kalasin"`` / ``"ทุกพื้นที่"``."""
        if self.is_national:
            return label("access.scope_all", lang)
        if self.districts is not None:
            names = ", ".join(coded_name(c, lang) for c in self.districts)
            return label("access.scope_districts", lang, names=names)
        names = ", ".join(coded_name(c, lang) for c in self.provinces or ())
        return label("access.scope_provinces", lang, names=names)


@dataclass(frozen=True)
class User:
    """A person using the app: who, which role, which areas.

    Parameters
    ----------
    username : str
        1-64 characters: letters, digits and ``. _ @ + -``; compared without regard to case.
    role : str
        One of :data:`ROLES`.
    provinces : tuple of str
        Province codes; only for ``provincial_officer`` (at least one).
    districts : tuple of str
        District codes; only for ``district_officer`` (at least one).
    display_name : str
        Name shown in the app; the username when empty.
    session_id : str
        The browser session's anonymous id (letters, digits, ``_``, ``-``; at most 64), for the
        audit log's ``session``: who an anonymous visitor is. Not part of equality, hashing or
        :func:`scope_key` (what a user may see never depends on it).

    Raises
    ------
    AccessConfigError
        When a field is invalid; the message names it and lists what is allowed.

    Example
    -------
    >>> User("kalasin", "provincial_officer", provinces=("46",)).scope.key
    'p:46'
    """

    username: str
    role: str
    provinces: tuple[str, ...] = ()
    districts: tuple[str, ...] = ()
    display_name: str = ""
    session_id: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        setter = object.__setattr__
        if not isinstance(self.session_id, str) or not _SESSION_ID.match(self.session_id):
            raise AccessConfigError(
                f"session_id must be at most 64 letters, digits, _ or -, got {_shown(self.session_id)}"
            )
        if not isinstance(self.username, str) or not _USERNAME.match(self.username):
            raise AccessConfigError(
                f"username must be 1-64 characters (letters, digits, . _ @ + -, starting with a letter "
                f"or digit), got {_shown(self.username)}"
            )
        if self.role not in ROLES:
            raise AccessConfigError(f"role must be one of {', '.join(ROLES)}; got {_shown(self.role)}")
        provinces = _codes_tuple(self.provinces, "provinces", 2, is_province_code, "province")
        districts = _codes_tuple(self.districts, "districts", 4, is_district_code, "district")
        if self.role == "provincial_officer":
            if not provinces:
                raise AccessConfigError("provinces: a provincial_officer needs at least one province code, like ['46']")
            if districts:
                raise AccessConfigError(
                    "districts: a provincial_officer sees whole provinces; give districts to a district_officer instead"
                )
        elif self.role == "district_officer":
            if not districts:
                raise AccessConfigError("districts: a district_officer needs at least one district code, like ['4609']")
            if provinces:
                raise AccessConfigError(
                    "provinces: a district_officer takes districts only; its provinces follow from the district codes"
                )
        elif provinces or districts:
            raise AccessConfigError(
                f"provinces/districts: a {self.role} sees every area; remove the area codes "
                "(only provincial_officer and district_officer have a scope)"
            )
        if not isinstance(self.display_name, str) or len(self.display_name) > 200:
            raise AccessConfigError(
                f"display_name must be text of at most 200 characters, got {_shown(self.display_name)}"
            )
        setter(self, "provinces", provinces)
        setter(self, "districts", districts)
        setter(self, "display_name", self.display_name.strip() or self.username)

    @property
    def capabilities(self) -> Capabilities:
        """What the role may do (:data:`ROLE_CAPABILITIES`)."""
        return ROLE_CAPABILITIES[self.role]

    @property
    def scope(self) -> Scope:
        """The areas the user may see; follows the hierarchy (a province holds its districts)."""
        if self.role == "provincial_officer":
            return Scope(provinces=self.provinces)
        if self.role == "district_officer":
            return Scope(provinces=tuple(sorted({d[:2] for d in self.districts})), districts=self.districts)
        return Scope()

    @property
    def is_public(self) -> bool:
        """True for :func:`public_viewer` (no authentication configured or not logged in)."""
        return self.username == PUBLIC_USERNAME and self.role == "viewer"


#: Shown on every page while the public viewer is browsing.
PUBLIC_NOTICE: Mapping[str, str] = MappingProxyType(
    {lang: label("access.public_notice", lang, k=DEFAULT_MIN_COUNT) for lang in LANGUAGES})


def public_viewer(session_id: str = "") -> User:
    """The user when no authentication is configured (or a visitor has not logged in).

    A ``viewer``: protected aggregates only, H3 down to res 7, no household rows, no imports.
    Pages show :data:`PUBLIC_NOTICE` while ``user.is_public``. ``session_id`` (the browser
    session's anonymous id) tells one anonymous visitor from another in the audit log.

    Example
    -------
    >>> public_viewer().role, public_viewer().is_public, public_viewer("a1b2").session_id
    ('viewer', True, 'a1b2')
    """
    return User(PUBLIC_USERNAME, "viewer", display_name=" · ".join(th_en("access.public_viewer")), session_id=session_id)


def with_session(user: User, session_id: str) -> User:
    """``user`` carrying the browser session's anonymous id (for the audit log's ``session``).

    Example
    -------
    >>> with_session(User("admin", "administrator"), "s1").session_id
    's1'
    """
    return dataclasses.replace(_check_user(user), session_id=session_id)


def _check_user(user: object, name: str = "user") -> User:
    if not isinstance(user, User):
        raise ArgumentTypeError(f"{name} must be a geo.access.roles.User, got {type(user).__name__}")
    return user


# ---------------------------------------------------------------------------------------------
# Enforcement
# ---------------------------------------------------------------------------------------------


def scope_key(user: User) -> str:
    """A stable string naming what ``user`` may see: put it in every cache key.

    Two users get the same key exactly when they have the same role and the same scope, so a
    cached result can be shared between them and never with anyone else.
    :func:`user_from_scope_key` turns the key back into a user a cached function can enforce with.

    Example
    -------
    >>> scope_key(User("a", "district_officer", districts=("4609", "4602")))
    'district_officer|d:4602,4609'
    """
    user = _check_user(user)
    return f"{user.role}|{user.scope.key}"


def user_from_scope_key(key: str) -> User:
    """Rebuild a user with the role and scope named by :func:`scope_key` (for cached functions).

    A cached loader takes the key (a small, hashable argument) and enforces with the user built
    from it, so what is cached under a key is exactly what that key allows.

    Raises
    ------
    AccessConfigError
        When ``key`` is not of the form ``role|all``, ``role|p:codes`` or ``role|d:codes``.

    Example
    -------
    >>> user_from_scope_key("provincial_officer|p:46").provinces
    ('46',)
    """
    if not isinstance(key, str) or key.count("|") != 1:
        raise AccessConfigError(f"key must look like 'role|all', 'role|p:46' or 'role|d:4609', got {_shown(key)}")
    role, scope = key.split("|")
    if scope == "all":
        user = User(_CACHE_USERNAME, role)
    elif scope.startswith("p:"):
        user = User(_CACHE_USERNAME, role, provinces=tuple(scope[2:].split(",")))
    elif scope.startswith("d:"):
        user = User(_CACHE_USERNAME, role, districts=tuple(scope[2:].split(",")))
    else:
        raise AccessConfigError(f"key must look like 'role|all', 'role|p:46' or 'role|d:4609', got {_shown(key)}")
    if scope_key(user) != key:
        raise AccessConfigError(f"key {key!r} is not in canonical form; use scope_key(user)")
    return user


def _ok_categories(codes: np.ndarray, ok: Callable[[str], bool]) -> np.ndarray:
    # One flag per category, plus a trailing True so that code -1 (missing) reads the last entry.
    flags = np.fromiter((ok(str(c)) for c in codes), dtype=bool, count=len(codes))
    return np.append(flags, True)


def scope_mask(index: HouseholdIndex, user: User) -> np.ndarray:
    """Boolean mask (in ``index`` order) of the households inside ``user``'s scope.

    A household is in scope when its province, district and (if given) subdistrict all lie in the
    scope, so a row whose codes disagree with each other never slips in through one of them.

    Parameters
    ----------
    index : geo.engine.aggregate.HouseholdIndex
    user : User

    Returns
    -------
    numpy.ndarray of bool
        Always an array (all True for a national scope), length ``index.n``.

    Example
    -------
    >>> mask = scope_mask(index, User("k", "provincial_officer", provinces=("46",)))  # doctest: +SKIP
    """
    if not isinstance(index, HouseholdIndex):
        raise ArgumentTypeError(f"index must be a geo.engine.aggregate.HouseholdIndex, got {type(index).__name__}")
    scope = _check_user(user).scope
    if scope.is_national:
        return np.ones(index.n, dtype=bool)
    province_ok = _ok_categories(index.province_codes, scope.overlaps)[:-1]
    district_ok = _ok_categories(index.district_codes, scope.includes)[:-1]
    subdistrict_ok = _ok_categories(index.subdistrict_codes, scope.includes)
    return province_ok[index.province] & district_ok[index.district] & subdistrict_ok[index.subdistrict]


def frame_scope_mask(frame: pd.DataFrame, user: User) -> np.ndarray:
    """Boolean mask of the rows of a household frame inside ``user``'s scope.

    Like :func:`scope_mask` for a DataFrame with ``province_code`` and ``district_code`` (and
    optionally ``subdistrict_code``). A scoped user never gets a row with a missing code.

    Example
    -------
    >>> frame = pd.DataFrame({"province_code": ["46", "34"], "district_code": ["4609", "3401"]})
    >>> frame_scope_mask(frame, User("k", "provincial_officer", provinces=("46",))).tolist()
    [True, False]
    """
    if not isinstance(frame, pd.DataFrame):
        raise ArgumentTypeError(f"frame must be a pandas DataFrame, got {type(frame).__name__}")
    missing = [c for c in ("province_code", "district_code") if c not in frame.columns]
    if missing:
        raise ArgumentError(f"frame is missing columns {missing}; household frames carry province_code and district_code")
    scope = _check_user(user).scope
    if scope.is_national:
        return np.ones(len(frame), dtype=bool)

    def column_ok(column: str, ok: Callable[[str], bool], missing_ok: bool) -> np.ndarray:
        codes = pd.Categorical(frame[column].astype("string"))
        flags = _ok_categories(np.asarray(codes.categories, dtype=object), ok)
        flags[-1] = missing_ok  # code -1: missing
        return flags[codes.codes]

    mask = column_ok("province_code", scope.overlaps, False) & column_ok("district_code", scope.includes, False)
    if "subdistrict_code" in frame.columns:
        mask &= column_ok("subdistrict_code", scope.includes, True)
    return mask


def scope_provinces(user: User) -> tuple[str, ...] | None:
    """The provinces whose households a read for ``user`` needs; ``None`` (all) for a national scope.

    A province scope's own provinces; a district scope's districts' provinces. The app reads only
    these provinces' rows from the file (``geo.data.source.read_source``), then narrows with
    :func:`households_in_scope`.

    Example
    -------
    >>> scope_provinces(User("k", "district_officer", districts=("4609", "4601", "3401")))
    ('34', '46')
    """
    scope = _check_user(user).scope
    if scope.is_national:
        return None
    return scope.provinces or tuple(sorted({str(d)[:2] for d in scope.districts or ()})) or None


def households_in_scope(frame: pd.DataFrame, user: User) -> pd.DataFrame:
    """The rows of a household frame inside ``user``'s scope (:func:`frame_scope_mask`), index reset.

    Every column is kept: this narrows what the app holds for an officer, it is not what a page
    may show of a row (:func:`household_rows`).
    """
    return frame[frame_scope_mask(frame, user)].reset_index(drop=True)


def pilots_in_scope(pilots: pd.DataFrame, user: User) -> pd.DataFrame:
    """The pilot sites ``user`` may see, index reset: every site for a national scope; for an
    officer, the sites in their provinces (and, for a district scope, in their districts).

    Example
    -------
    >>> sites = pd.DataFrame({"province_code": ["46", "34"], "district_code": ["4609", "3401"]})
    >>> pilots_in_scope(sites, User("k", "provincial_officer", provinces=("46",)))["province_code"].tolist()
    ['46']
    """
    scope = _check_user(user).scope
    if scope.is_national:
        return pilots.reset_index(drop=True)
    keep = [scope.overlaps(str(p)) and (scope.districts is None or scope.includes(str(d)))
            for p, d in zip(pilots["province_code"], pilots["district_code"])]
    return pilots[keep].reset_index(drop=True)


def _deny_scope(user: User, provinces: list[str], districts: list[str]) -> AccessDenied:
    def refusal(lang: str) -> str:
        areas = ", ".join([label("access.scope_province", lang, name=coded_name(p, lang)) for p in provinces]
                          + [label("access.scope_district", lang, name=coded_name(d, lang)) for d in districts])
        return label("access.denied_scope", lang, areas=areas, scope=user.scope.describe(lang))

    return AccessDenied(refusal("th"), refusal("en"), reason="scope")


def scope_filter(flt: HouseholdFilter | None, user: User) -> HouseholdFilter:
    """Intersect a requested filter with ``user``'s scope.

    * A national scope (administrator, researcher, viewer) returns the filter unchanged.
    * A province or district the user may not see, asked for explicitly (a widget, a URL query
      parameter), raises :class:`AccessDenied` naming it: the page shows the denial rather than
      silently showing something else.
    * A request with no province/district ("everything") is narrowed to the scope; a district
      officer asking for their province gets their districts in it.

    Parameters
    ----------
    flt : geo.engine.filters.HouseholdFilter or None
    user : User

    Returns
    -------
    geo.engine.filters.HouseholdFilter
        Never wider than the scope; other fields (levels, capitals, ...) unchanged.

    Raises
    ------
    AccessDenied
        ``reason == "scope"`` when a requested province or district lies outside the scope.

    Example
    -------
    >>> officer = User("k", "provincial_officer", provinces=("46",))
    >>> scope_filter(None, officer).provinces
    ('46',)
    """
    if flt is None:
        flt = HouseholdFilter()
    if not isinstance(flt, HouseholdFilter):
        raise ArgumentTypeError(f"flt must be a geo.engine.filters.HouseholdFilter or None, got {type(flt).__name__}")
    scope = _check_user(user).scope
    if scope.is_national:
        return flt
    bad_provinces = [p for p in flt.provinces or () if not scope.overlaps(p)]
    bad_districts = [d for d in flt.districts or () if not scope.includes(d)]
    if bad_provinces or bad_districts:
        raise _deny_scope(user, bad_provinces, bad_districts)
    provinces = flt.provinces if flt.provinces is not None else scope.provinces
    districts = flt.districts
    if districts is None and scope.districts is not None:
        districts = tuple(d for d in scope.districts if d[:2] in (provinces or ()))
    return dataclasses.replace(flt, provinces=provinces, districts=districts)


def check_view_scope(view, user: User) -> None:
    """Raise :class:`AccessDenied` when ``view`` asks for an area outside ``user``'s scope.

    ``view`` is a ``geo.views.viewstate.ViewState`` (anything with ``to_filter()`` and ``area``).
    Its province and district filters and its selected area (a province, district or subdistrict
    code) are checked with :func:`scope_filter`; nothing is narrowed here.

    Example
    -------
    >>> check_view_scope(view, User("k", "provincial_officer", provinces=("46",)))  # doctest: +SKIP
    """
    scope_filter(view.to_filter(), user)
    area = str(view.area or "")
    if len(area) == 2:
        scope_filter(HouseholdFilter(provinces=(area,)), user)
    elif len(area) >= 4:
        scope_filter(HouseholdFilter(provinces=(area[:2],), districts=(area[:4],)), user)


def scoped_mask(index: HouseholdIndex, flt: HouseholdFilter | None, user: User) -> np.ndarray | None:
    """The mask to aggregate with: the filter narrowed by :func:`scope_filter`, AND :func:`scope_mask`.

    Returns ``None`` ("every household", as :func:`geo.engine.filters.filter_mask`) only for a national
    scope with an empty filter. Raises :class:`AccessDenied` like :func:`scope_filter`.

    Example
    -------
    >>> mask = scoped_mask(index, flt, user)  # doctest: +SKIP
    >>> table = aggregate(index, "h3", res=cap_resolution(9, user), mask=mask)  # doctest: +SKIP
    """
    narrowed = scope_filter(flt, user)
    mask = filter_mask(index, narrowed)
    if user.scope.is_national:
        return mask
    in_scope = scope_mask(index, user)
    return in_scope if mask is None else mask & in_scope


def cap_resolution(res: int, user: User) -> int:
    """The H3 resolution to use: ``res``, lowered to the role's finest (viewer 7, researcher 8, officers 9).

    Raises
    ------
    geo.checks.EngineInputError
        When ``res`` is not one of 5-10.

    Example
    -------
    >>> cap_resolution(9, public_viewer()), cap_resolution(6, public_viewer())
    (7, 6)
    """
    res = check_resolution(res, "res", H3_RESOLUTIONS)
    return min(res, _check_user(user).capabilities.max_h3_res)


def check_min_count(k: int, user: User) -> int:
    """Return ``k`` for :func:`geo.engine.protect.protect` when the role may use it; raise otherwise.

    Only an administrator may go below 10 (``k=1`` for an authorised operator export).

    Raises
    ------
    AccessDenied
        ``reason == "min_count"`` when ``k`` is below the role's floor.
    geo.checks.EngineInputError
        When ``k`` is not an integer of at least 1.

    Example
    -------
    >>> check_min_count(10, public_viewer())
    10
    """
    k = check_int(k, "k", minimum=1)
    floor = _check_user(user).capabilities.min_count
    if k < floor:
        raise AccessDenied(*th_en("access.denied_min_count", floor=floor, k=k), reason="min_count")
    return k


#: Columns never returned by :func:`household_rows`, whoever asks.
HIDDEN_ROW_COLUMNS: tuple[str, ...] = ("national_id_hash", "national_id", "head_name")
#: Columns :func:`household_rows` returns (the contract's, minus the hidden ones); others are dropped.
ROW_COLUMNS: tuple[str, ...] = tuple(c for c in HOUSEHOLD_COLUMN_NAMES if c not in HIDDEN_ROW_COLUMNS)


def household_rows(frame: pd.DataFrame, user: User) -> pd.DataFrame:
    """The household rows ``user`` may see: in scope, no ID hash or names, positions rounded.

    Pages should call :func:`geo.access.audit.view_household_rows`, which calls this and logs the view.

    Parameters
    ----------
    frame : pandas.DataFrame
        Households in the data contract (:mod:`geo.data.contract`).
    user : User

    Returns
    -------
    pandas.DataFrame
        A new frame (index reset) with only :data:`ROW_COLUMNS` that ``frame`` has: every column
        outside the contract (``head_name``, ``national_id_hash``, derived columns) is dropped.
        ``lat``/``lon`` are rounded to :data:`OFFICER_POSITION_DECIMALS` unless the role may see
        precise positions.

    Raises
    ------
    AccessDenied
        ``reason == "rows"`` for researchers and viewers.

    Example
    -------
    >>> rows = household_rows(households, User("k", "provincial_officer", provinces=("46",)))  # doctest: +SKIP
    """
    user = _check_user(user)
    if not isinstance(frame, pd.DataFrame):
        raise ArgumentTypeError(f"frame must be a pandas DataFrame, got {type(frame).__name__}")
    caps = user.capabilities
    if not caps.may_see_household_rows:
        role = ROLE_LABELS[user.role]
        raise AccessDenied(*th_en("access.denied_rows", role=role["en"].lower(), role_th=role["th"]), reason="rows")
    keep = frame_scope_mask(frame, user)
    columns = [c for c in ROW_COLUMNS if c in frame.columns]
    rows = frame.loc[keep, columns].reset_index(drop=True)
    if caps.position_decimals is not None:
        for column in ("lat", "lon"):
            if column in rows.columns:
                rows[column] = round_positions(rows[column], caps.position_decimals)
    return rows


def check_import(user: User, households: pd.DataFrame, *, mode: str = "upsert") -> None:
    """Raise unless ``user`` may store these households (before :func:`geo.ingest.save_import`).

    Officers may upsert households of their own scope only (add them, or replace the stored row of
    the same household and round); ``replace_all`` (which swaps the whole store, every province and
    round) and keeping household heads' names are for administrators.

    Parameters
    ----------
    user : User
    households : pandas.DataFrame
        ``ImportResult.households``.
    mode : {"upsert", "replace_all"}

    Raises
    ------
    AccessDenied
        ``reason == "import"`` (role, mode or names) or ``"scope"`` (rows outside the scope; the
        message names the areas and how many rows).

    Example
    -------
    >>> result = import_households([upload], store=store)  # doctest: +SKIP
    >>> check_import(user, result.households, mode=result.mode)  # doctest: +SKIP
    >>> save_import(result, store=store)  # doctest: +SKIP
    """
    user = _check_user(user)
    if not isinstance(households, pd.DataFrame):
        raise ArgumentTypeError(f"households must be a pandas DataFrame, got {type(households).__name__}")
    if mode not in MODES:
        raise ArgumentError(f"mode must be 'upsert' or 'replace_all', got {_shown(mode)}")
    caps = user.capabilities
    if not caps.may_import:
        raise AccessDenied(*th_en("access.denied_import"), reason="import")
    if mode == "replace_all" and not caps.may_replace_store:
        raise AccessDenied(*th_en("access.denied_replace_all"), reason="import")
    if "head_name" in households.columns and not caps.may_keep_names:
        raise AccessDenied(*th_en("access.denied_names"), reason="import")
    outside = ~frame_scope_mask(households, user)
    if outside.any():
        codes = households.loc[outside, "district_code"].astype("string").fillna("?")
        shown = sorted(set(codes.tolist()))[:5]
        raise AccessDenied(*th_en("access.denied_rows_outside", count=int(outside.sum()), districts=", ".join(shown)),
                           reason="scope")



def imports_in_scope(imports: list[dict], user: User) -> list[dict]:
    """The store's import history (``geo.data.store.load_provenance``) that ``user`` may see.

    National scopes (administrator, researcher, viewer) see every import. Officers see only the
    imports whose rows touched their scope (an entry's ``districts``, recorded by
    ``geo.data.store.save_households``), with those areas narrowed to their scope; an import with no
    recorded areas (made before areas were recorded) is not shown to them. The counts of an
    entry are the whole file's.

    Parameters
    ----------
    imports : list of dict
        Provenance entries, oldest first.
    user : User

    Returns
    -------
    list of dict
        Copies of the entries shown, in the same order; ``len(imports) - len(result)`` were hidden.

    Example
    -------
    >>> imports_in_scope([{"file": "a.csv", "districts": ["3401"]}], User("k", "provincial_officer",
    ...                  provinces=("46",)))
    []
    """
    user = _check_user(user)
    if not isinstance(imports, list) or not all(isinstance(e, Mapping) for e in imports):
        raise ArgumentTypeError(f"imports must be a list of provenance entries (dicts), got {type(imports).__name__}")
    scope = user.scope
    if scope.is_national:
        return [dict(e) for e in imports]
    shown = []
    for entry in imports:
        districts = entry.get("districts")
        if not isinstance(districts, list):
            continue
        mine = [d for d in districts if scope.includes(str(d))]
        if mine:
            provinces = sorted({d[:2] for d in mine})
            shown.append({**entry, "districts": mine, "provinces": provinces})
    return shown

# ---------------------------------------------------------------------------------------------
# Passwords (local mode)
# ---------------------------------------------------------------------------------------------

#: scrypt cost parameters for new hashes (n = 2**14, r = 8, p = 1: about 16 MiB and 60 ms).
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1
SCRYPT_SALT_BYTES = 16
SCRYPT_HASH_BYTES = 32
#: Shortest password :func:`hash_password` accepts.
MIN_PASSWORD_LENGTH = 12
#: Longest password checked (longer input is refused rather than hashed: no CPU exhaustion).
MAX_PASSWORD_LENGTH = 1024
_HASH_FORMAT = "scrypt$n$r$p$salt_b64$hash_b64"


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int, length: int) -> bytes:
    return hashlib.scrypt(password.encode("utf-8"), salt=salt, n=n, r=r, p=p, dklen=length,
                          maxmem=256 * n * r * p + 2**20)


def hash_password(password: str, *, salt: bytes | None = None) -> str:
    """Hash a password with scrypt for the access configuration.

    Parameters
    ----------
    password : str
        At least :data:`MIN_PASSWORD_LENGTH` characters.
    salt : bytes, optional
        16 random bytes; a fresh one from :mod:`secrets` when omitted (always, outside tests).

    Returns
    -------
    str
        ``"scrypt$16384$8$1$<salt base64>$<hash base64>"``.

    Raises
    ------
    ValueError
        When the password is too short or too long, or the salt is not 16 bytes.

    Example
    -------
    >>> hash_password("correct horse battery").startswith("scrypt$16384$8$1$")
    True
    """
    if not isinstance(password, str) or not MIN_PASSWORD_LENGTH <= len(password) <= MAX_PASSWORD_LENGTH:
        length = len(password) if isinstance(password, str) else type(password).__name__
        raise ArgumentError(
            f"password must be text of {MIN_PASSWORD_LENGTH}-{MAX_PASSWORD_LENGTH} characters, got {length}"
        )
    salt = secrets.token_bytes(SCRYPT_SALT_BYTES) if salt is None else salt
    if not isinstance(salt, bytes) or len(salt) != SCRYPT_SALT_BYTES:
        raise ArgumentError(f"salt must be {SCRYPT_SALT_BYTES} bytes")
    digest = _scrypt(password, salt, SCRYPT_N, SCRYPT_R, SCRYPT_P, SCRYPT_HASH_BYTES)
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${_b64(salt)}${_b64(digest)}"


def parse_password_hash(encoded: str) -> tuple[int, int, int, bytes, bytes]:
    """Split a stored hash into ``(n, r, p, salt, hash)``, checking every part.

    Raises
    ------
    ValueError
        Naming the part that is wrong and the expected format ``scrypt$n$r$p$salt_b64$hash_b64``.
    """
    if not isinstance(encoded, str):
        raise AccessConfigError(f"password_hash must be text in the form {_HASH_FORMAT}, got {type(encoded).__name__}")
    parts = encoded.split("$")
    if len(parts) != 6 or parts[0] != "scrypt":
        raise AccessConfigError(f"password_hash must have the form {_HASH_FORMAT} (from `python -m geo access hash-password`)")
    try:
        n, r, p = (int(x) for x in parts[1:4])
    except ValueError:
        raise AccessConfigError(f"password_hash: n, r and p must be integers in {_HASH_FORMAT}") from None
    if n < 2**14 or n > 2**20 or n & (n - 1):
        raise AccessConfigError(f"password_hash: n must be a power of two from 16384 to 1048576, got {n}")
    if not 1 <= r <= 32 or not 1 <= p <= 16:
        raise AccessConfigError(f"password_hash: r must be 1-32 and p 1-16, got r={r}, p={p}")
    try:
        salt = base64.b64decode(parts[4], validate=True)
        digest = base64.b64decode(parts[5], validate=True)
    except (binascii.Error, ValueError):
        raise AccessConfigError("password_hash: salt and hash must be base64") from None
    if len(salt) < 16 or not 16 <= len(digest) <= 64:
        raise AccessConfigError(
            f"password_hash: salt must be at least 16 bytes and hash 16-64 bytes, got {len(salt)} and {len(digest)}"
        )
    return n, r, p, salt, digest


def verify_password(password: str, encoded: str) -> bool:
    """True when ``password`` matches the stored hash ``encoded``; compares in constant time.

    Raises
    ------
    ValueError
        When ``encoded`` is not a valid hash (a wrong password only returns False).

    Example
    -------
    >>> stored = hash_password("correct horse battery")
    >>> verify_password("correct horse battery", stored), verify_password("wrong horse battery", stored)
    (True, False)
    """
    n, r, p, salt, digest = parse_password_hash(encoded)
    if not isinstance(password, str) or len(password) > MAX_PASSWORD_LENGTH:
        return False
    return hmac.compare_digest(_scrypt(password, salt, n, r, p, len(digest)), digest)


# ---------------------------------------------------------------------------------------------
# Failed-login limit
# ---------------------------------------------------------------------------------------------


class LoginLimiter:
    """Locks out a username, and a client, after repeated failed logins (in memory, per process).

    Two counts, both checked before a password is:

    * **per username**: after ``max_failures`` failures in a row the username is locked for
      ``lockout_seconds``; a success, or the end of a lockout, starts the count again. Unknown
      usernames are counted the same way, so a lockout says nothing about whether a user exists.
    * **per client** (the address the request came from, or the browser session when the address
      is unknown; see :func:`client_address`): after ``max_client_failures`` failures from one
      client, *whatever usernames it tried*, the client is locked for ``lockout_seconds``. A
      success does not clear it (one valid account must not reset a guesser's count); the end of
      the lockout does. This stops one client trying one password against many names.

    Thread-safe. Keep one per app process (``st.cache_resource``); a restart forgets all counts.

    Parameters
    ----------
    max_failures : int, default 5
    lockout_seconds : float, default 60
    clock : callable, default time.monotonic
        Returns seconds; tests pass a fake clock.
    max_tracked : int, default 10000
        Usernames (and, separately, clients) remembered at most (oldest forgotten first), so junk
        names cannot fill memory.
    max_client_failures : int, default 20

    Example
    -------
    >>> limiter = LoginLimiter(max_failures=2, lockout_seconds=60, clock=lambda: 0.0)
    >>> limiter.failure("a"); limiter.failure("a"); limiter.seconds_locked("a")
    60.0
    >>> limiter = LoginLimiter(max_failures=5, max_client_failures=2, clock=lambda: 0.0)
    >>> limiter.failure("a", client="10.0.0.7"); limiter.failure("b", client="10.0.0.7")
    >>> limiter.seconds_locked("c", client="10.0.0.7")
    60.0
    """

    def __init__(self, max_failures: int = 5, lockout_seconds: float = 60.0, *,
                 clock: Callable[[], float] = time.monotonic, max_tracked: int = 10_000,
                 max_client_failures: int = 20) -> None:
        self.max_failures = check_int(max_failures, "max_failures", minimum=1)
        self.max_client_failures = check_int(max_client_failures, "max_client_failures", minimum=1)
        if isinstance(lockout_seconds, bool) or not isinstance(lockout_seconds, (int, float)) or lockout_seconds <= 0:
            raise ArgumentError(f"lockout_seconds must be a positive number, got {_shown(lockout_seconds)}")
        self.lockout_seconds = float(lockout_seconds)
        self._clock = clock
        self._max_tracked = check_int(max_tracked, "max_tracked", minimum=1)
        self._state: OrderedDict[str, tuple[int, float]] = OrderedDict()  # name -> (failures, locked_until)
        self._clients: OrderedDict[str, tuple[int, float]] = OrderedDict()  # client -> (failures, locked_until)
        self._lock = threading.Lock()

    @staticmethod
    def _name(username: str) -> str:
        return str(username).strip().casefold()

    @staticmethod
    def _client(client: str | None) -> str | None:
        return str(client).strip().casefold() or None if client is not None else None

    def seconds_locked(self, username: str, *, client: str | None = None) -> float:
        """Seconds until ``username`` (from ``client``) may try again; 0.0 when neither is locked."""
        key = self._client(client)
        with self._lock:
            now = self._clock()
            _, until = self._state.get(self._name(username), (0, 0.0))
            _, client_until = self._clients.get(key, (0, 0.0)) if key else (0, 0.0)
            return max(0.0, until - now, client_until - now)

    def check(self, username: str, *, client: str | None = None) -> None:
        """Raise :class:`AccessDenied` (``reason == "locked"``) while ``username`` or ``client`` is locked out."""
        left = self.seconds_locked(username, client=client)
        if left > 0:
            wait = int(np.ceil(left))
            raise AccessDenied(*th_en("access.denied_locked", wait=wait), reason="locked")

    def _count(self, table: OrderedDict, key: str, limit: int, now: float) -> None:
        failures, until = table.pop(key, (0, 0.0))
        if until and now >= until:
            failures, until = 0, 0.0
        failures += 1
        if failures >= limit:
            failures, until = 0, now + self.lockout_seconds
        table[key] = (failures, until)
        while len(table) > self._max_tracked:
            table.popitem(last=False)

    def failure(self, username: str, *, client: str | None = None) -> None:
        """Count a failed login for ``username`` and for ``client``; lock whichever reaches its limit."""
        key = self._client(client)
        with self._lock:
            now = self._clock()
            self._count(self._state, self._name(username), self.max_failures, now)
            if key:
                self._count(self._clients, key, self.max_client_failures, now)

    def success(self, username: str, *, client: str | None = None) -> None:
        """Forget the failures of ``username`` after a successful login (the client's count stays)."""
        with self._lock:
            self._state.pop(self._name(username), None)


def client_address(remote_ip: str | None, forwarded_for: str | None = None, *,
                   trusted_proxies: Iterable[str] = ()) -> str | None:
    """The address a request really came from, for per-client login limits and the audit log.

    ``remote_ip`` is the connection's address (``st.context.ip_address``; Streamlit gives ``None``
    for a loopback connection, taken here as ``127.0.0.1``). When it is one of
    ``trusted_proxies`` (the reverse proxy in front of the app, ``[auth] trusted_proxies``), the
    ``X-Forwarded-For`` header is read from the right, skipping further trusted proxies, and the
    first other address is the client. Otherwise the header is ignored: anyone can send one.

    Returns
    -------
    str or None
        The client address, or None when it is not known (a loopback connection with no trusted
        proxy): callers then key by the browser session instead.

    Example
    -------
    >>> client_address(None, "203.0.113.9, 10.0.0.2", trusted_proxies=["127.0.0.1", "10.0.0.2"])
    '203.0.113.9'
    >>> client_address("198.51.100.4", "203.0.113.9")  # not from a trusted proxy: the header is ignored
    '198.51.100.4'
    """
    trusted = {str(p).strip() for p in trusted_proxies}
    remote = remote_ip.strip() if isinstance(remote_ip, str) and remote_ip.strip() else "127.0.0.1"
    if remote in trusted or (remote in ("127.0.0.1", "::1") and ({"127.0.0.1", "::1"} & trusted)):
        hops = [h.strip() for h in (forwarded_for or "").split(",") if h.strip()]
        for hop in reversed(hops):
            if hop not in trusted:
                return hop[:64]
        return None
    return None if remote in ("127.0.0.1", "::1") else remote[:64]


# ---------------------------------------------------------------------------------------------
# Configuration
# ---------------------------------------------------------------------------------------------

#: How users log in.
AUTH_MODES: tuple[str, ...] = ("oidc", "local", "none")
#: Environment variable naming the access configuration file.
ACCESS_CONFIG_ENV = "PPAP_ACCESS_CONFIG"
#: Where the configuration is looked for when neither an argument nor the variable names one.
DEFAULT_ACCESS_CONFIG = PROJECT_ROOT / "config" / "access.toml"

_TOP_KEYS = ("auth", "users")
_AUTH_KEYS = ("mode", "public_access", "oidc_provider", "max_failed_logins", "lockout_seconds",
              "max_failed_logins_per_client", "idle_timeout_minutes", "session_hours", "remember_login",
              "trusted_proxies")
_USER_KEYS = ("username", "role", "provinces", "districts", "display_name", "email", "password_hash")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


@dataclass(frozen=True)
class AccessConfig:
    """The checked access configuration. Build it with :func:`load_access_config`.

    Attributes
    ----------
    mode : str
        ``"oidc"``, ``"local"`` or ``"none"``.
    users : tuple of User
    public_access : bool
        Visitors who are not logged in (and, in OIDC mode, logged-in identities whose email is not
        configured) browse as :func:`public_viewer`. Always true for ``mode = "none"``.
    oidc_provider : str or None
        Provider name for ``st.login(provider)``; ``None`` for Streamlit's default ``[auth]``.
    max_failed_logins, lockout_seconds, max_failed_logins_per_client
        Settings for :meth:`new_limiter` (per username, and per client).
    idle_timeout_minutes : float
        A logged-in session with no page run for this long is logged out (audit event
        ``expired``); 0 turns the idle timeout off. Default 30.
    session_hours : float
        Longest life of a login kept across page reloads (the signed session cookie); default 8.
    remember_login : bool
        Local mode: keep the login across page reloads with a signed, expiring, HTTP-only cookie
        (needs the app started as ``streamlit run serve.py``, see docs/ACCESS.md). Default true.
    trusted_proxies : tuple of str
        Addresses of the reverse proxy in front of the app: only from them is
        ``X-Forwarded-For`` believed (:func:`client_address`).
    source : str
        Where the configuration came from (a path, or ``"(no configuration: public viewer)"``).
    warnings : tuple of str
        Things worth knowing that are not errors (``check-config`` prints them).
    """

    mode: str
    users: tuple[User, ...] = ()
    public_access: bool = True
    oidc_provider: str | None = None
    max_failed_logins: int = 5
    lockout_seconds: float = 60.0
    max_failed_logins_per_client: int = 20
    idle_timeout_minutes: float = 30.0
    session_hours: float = 8.0
    remember_login: bool = True
    trusted_proxies: tuple[str, ...] = ()
    source: str = ""
    warnings: tuple[str, ...] = ()
    emails: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}), repr=False, compare=False)
    password_hashes: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}), repr=False,
                                               compare=False)

    def user(self, username: str) -> User | None:
        """The configured user called ``username`` (any case), or None."""
        if not isinstance(username, str):
            return None
        name = username.strip().casefold()
        return next((u for u in self.users if u.username.casefold() == name), None)

    def anonymous_user(self) -> User | None:
        """Who a visitor is before logging in: :func:`public_viewer`, or None when a login is required."""
        return public_viewer() if self.mode == "none" or self.public_access else None

    def new_limiter(self, *, clock: Callable[[], float] = time.monotonic) -> LoginLimiter:
        """A :class:`LoginLimiter` with this configuration's settings."""
        return LoginLimiter(self.max_failed_logins, self.lockout_seconds, clock=clock,
                            max_client_failures=self.max_failed_logins_per_client)

    @property
    def idle_timeout_seconds(self) -> float:
        """:attr:`idle_timeout_minutes` in seconds (0 when off)."""
        return self.idle_timeout_minutes * 60.0


def _is_ip(text: str) -> bool:
    import ipaddress

    try:
        ipaddress.ip_address(text.strip())
    except ValueError:
        return False
    return True


def no_auth_config() -> AccessConfig:
    """The configuration when none is installed: ``mode = "none"``, everyone is the public viewer."""
    return AccessConfig(mode="none", public_access=True, source="(no configuration: public viewer)")


def access_config_path(path: str | os.PathLike[str] | None = None) -> tuple[Path, bool]:
    """Which file to read and whether it was asked for explicitly (argument or ``$PPAP_ACCESS_CONFIG``)."""
    if path is not None:
        return Path(path), True
    env = os.environ.get(ACCESS_CONFIG_ENV)
    if env:
        return Path(env), True
    return DEFAULT_ACCESS_CONFIG, False


def _where(path: Path, key: str) -> str:
    return f"{path}: {key}"


def _user_from_table(path: Path, position: int, table: object, mode: str) -> tuple[User, str | None, str | None]:
    at = f"users[{position}]"
    if not isinstance(table, dict):
        raise AccessConfigError(_where(path, f"{at} must be a table ([[users]]), got {_shown(table)}"))
    name = table.get("username")
    if isinstance(name, str):
        at = f"users[{position}] ({name!r})"
    unknown = sorted(set(table) - set(_USER_KEYS))
    if unknown:
        hint = " (plain passwords are never accepted: store password_hash from `python -m geo access hash-password`)" \
            if "password" in unknown else ""
        allowed = ", ".join(_USER_KEYS)
        raise AccessConfigError(_where(path, f"{at}: unknown key {unknown[0]!r}; allowed: {allowed}{hint}"))
    for key in ("username", "role"):
        if key not in table:
            raise AccessConfigError(_where(path, f"{at}: {key} is required"))
    if isinstance(name, str) and name.casefold() == PUBLIC_USERNAME:
        raise AccessConfigError(_where(path, f"{at}.username: {PUBLIC_USERNAME!r} is reserved for the public viewer"))
    try:
        user = User(
            username=table["username"], role=table["role"], provinces=table.get("provinces", ()),
            districts=table.get("districts", ()), display_name=table.get("display_name", ""),
        )
    except AccessConfigError as exc:
        raise AccessConfigError(_where(path, f"{at}.{exc}")) from None
    email = table.get("email")
    if email is not None:
        if not isinstance(email, str) or not _EMAIL.match(email.strip()):
            raise AccessConfigError(_where(path, f"{at}.email must be an email address, got {_shown(email)}"))
        email = email.strip().casefold()
    password_hash = table.get("password_hash")
    if password_hash is not None:
        try:
            parse_password_hash(password_hash)
        except ValueError as exc:
            raise AccessConfigError(_where(path, f"{at}.{exc}")) from None
    if mode == "oidc" and email is None:
        raise AccessConfigError(_where(
            path, f"{at}.email is required with mode = \"oidc\" (it is how a login is matched)"))
    if mode == "local" and password_hash is None:
        raise AccessConfigError(_where(
            path, f"{at}.password_hash is required with mode = \"local\"; "
                  "make one with `python -m geo access hash-password`"))
    return user, email, password_hash


def parse_access_config(data: Mapping[str, object], *, source: str = "(text)") -> AccessConfig:
    """Check an already-parsed configuration (the TOML as a dict) and build an :class:`AccessConfig`.

    Raises
    ------
    AccessConfigError
        On the first problem, naming the key and the bad value.
    """
    path = Path(source)
    unknown = sorted(set(data) - set(_TOP_KEYS))
    if unknown:
        raise AccessConfigError(_where(
            path, f"unknown key {unknown[0]!r} at the top level; allowed: [auth], [[users]]"))
    auth = data.get("auth")
    if not isinstance(auth, dict):
        raise AccessConfigError(_where(path, "[auth] is required, with mode = \"oidc\", \"local\" or \"none\""))
    bad = sorted(set(auth) - set(_AUTH_KEYS))
    if bad:
        raise AccessConfigError(_where(path, f"auth: unknown key {bad[0]!r}; allowed: {', '.join(_AUTH_KEYS)}"))
    mode = auth.get("mode")
    if mode not in AUTH_MODES:
        raise AccessConfigError(_where(path, f"auth.mode must be one of {', '.join(AUTH_MODES)}; got {_shown(mode)}"))
    public_access = auth.get("public_access", mode == "none")
    if not isinstance(public_access, bool):
        raise AccessConfigError(_where(path, f"auth.public_access must be true or false, got {_shown(public_access)}"))
    provider = auth.get("oidc_provider")
    if provider is not None and (not isinstance(provider, str) or not re.fullmatch(r"[A-Za-z0-9_\-]{1,64}", provider)):
        raise AccessConfigError(_where(
            path, f"auth.oidc_provider must be a provider name like 'google', got {_shown(provider)}"))
    max_failed = auth.get("max_failed_logins", 5)
    if isinstance(max_failed, bool) or not isinstance(max_failed, int) or not 1 <= max_failed <= 100:
        raise AccessConfigError(_where(
            path, f"auth.max_failed_logins must be an integer 1-100, got {_shown(max_failed)}"))
    lockout = auth.get("lockout_seconds", 60)
    if isinstance(lockout, bool) or not isinstance(lockout, (int, float)) or not 1 <= lockout <= 86_400:
        raise AccessConfigError(_where(path, f"auth.lockout_seconds must be a number 1-86400, got {_shown(lockout)}"))
    per_client = auth.get("max_failed_logins_per_client", 20)
    if isinstance(per_client, bool) or not isinstance(per_client, int) or not 1 <= per_client <= 10_000:
        raise AccessConfigError(_where(
            path, f"auth.max_failed_logins_per_client must be an integer 1-10000, got {_shown(per_client)}"))
    idle = auth.get("idle_timeout_minutes", 30)
    if isinstance(idle, bool) or not isinstance(idle, (int, float)) or not 0 <= idle <= 24 * 60:
        raise AccessConfigError(_where(
            path, f"auth.idle_timeout_minutes must be a number 0-1440 (0 = off), got {_shown(idle)}"))
    hours = auth.get("session_hours", 8)
    if isinstance(hours, bool) or not isinstance(hours, (int, float)) or not 0.1 <= hours <= 24 * 30:
        raise AccessConfigError(_where(path, f"auth.session_hours must be a number 0.1-720, got {_shown(hours)}"))
    remember = auth.get("remember_login", True)
    if not isinstance(remember, bool):
        raise AccessConfigError(_where(path, f"auth.remember_login must be true or false, got {_shown(remember)}"))
    proxies = auth.get("trusted_proxies", [])
    if not isinstance(proxies, list) or not all(isinstance(p, str) and _is_ip(p) for p in proxies):
        raise AccessConfigError(_where(
            path, f"auth.trusted_proxies must be a list of IP addresses like [\"127.0.0.1\"], got {_shown(proxies)}"))

    tables = data.get("users", [])
    if not isinstance(tables, list):
        raise AccessConfigError(_where(path, "users must be written as [[users]] tables"))
    users: list[User] = []
    emails: dict[str, str] = {}
    hashes: dict[str, str] = {}
    for position, table in enumerate(tables):
        user, email, password_hash = _user_from_table(path, position, table, mode)
        if any(u.username.casefold() == user.username.casefold() for u in users):
            raise AccessConfigError(_where(path, f"users[{position}].username: duplicate username {user.username!r}"))
        if email is not None:
            if email in emails:
                raise AccessConfigError(_where(
                    path, f"users[{position}].email: {email!r} is also the email of {emails[email]!r}"))
            emails[email] = user.username
        if password_hash is not None:
            hashes[user.username.casefold()] = password_hash
        users.append(user)
    warnings: list[str] = []
    if mode in ("oidc", "local") and not users:
        raise AccessConfigError(_where(
            path, f"users: mode = {mode!r} needs at least one [[users]] entry (nobody could log in)"))
    if mode == "none" and users:
        warnings.append("mode = \"none\": the users listed are ignored; everyone browses as the public viewer")
    if mode == "oidc" and hashes:
        warnings.append("mode = \"oidc\": password_hash entries are ignored")
    if mode != "none" and not any(u.role == "administrator" for u in users):
        warnings.append("no administrator: nobody can read the audit log in the app")
    return AccessConfig(
        mode=mode, users=tuple(users), public_access=True if mode == "none" else public_access,
        oidc_provider=provider, max_failed_logins=max_failed, lockout_seconds=float(lockout),
        max_failed_logins_per_client=per_client, idle_timeout_minutes=float(idle), session_hours=float(hours),
        remember_login=remember, trusted_proxies=tuple(p.strip() for p in proxies), source=str(source),
        warnings=tuple(warnings), emails=MappingProxyType(emails),
        password_hashes=MappingProxyType(hashes if mode == "local" else {}),
    )


def load_access_config(path: str | os.PathLike[str] | None = None) -> AccessConfig:
    """Read and check the access configuration.

    Parameters
    ----------
    path : path, optional
        The TOML file. When omitted: ``$PPAP_ACCESS_CONFIG``, else ``config/access.toml``.

    Returns
    -------
    AccessConfig
        :func:`no_auth_config` (everyone the public viewer) when no path was given, the variable
        is unset and ``config/access.toml`` does not exist. A file named explicitly (argument or
        variable) must exist: a deployment that asked for logins never silently runs without.

    Raises
    ------
    AccessConfigError
        When the file is missing (named explicitly), not TOML, or breaks a rule; the message names
        the file, the key and the bad value.

    Example
    -------
    >>> load_access_config("config/access.example.toml").mode  # doctest: +SKIP
    'local'
    """
    file, explicit = access_config_path(path)
    if not file.is_file():
        if not explicit:
            return no_auth_config()
        via = f" (from ${ACCESS_CONFIG_ENV})" if path is None else ""
        raise AccessConfigError(f"{file}{via}: no such access configuration file; copy config/access.example.toml")
    try:
        data = tomllib.loads(file.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise AccessConfigError(f"{file}: not valid TOML: {exc}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise AccessConfigError(f"{file}: cannot be read: {exc}") from None
    return parse_access_config(data, source=str(file))


# ---------------------------------------------------------------------------------------------
# Logging in
# ---------------------------------------------------------------------------------------------

_DUMMY_HASH: list[str] = []


def _dummy_hash() -> str:
    if not _DUMMY_HASH:
        _DUMMY_HASH.append(hash_password(secrets.token_urlsafe(24)))
    return _DUMMY_HASH[0]


def _login_failed() -> AccessDenied:
    return AccessDenied(*th_en("access.denied_login"), reason="login")


def authenticate_local(config: AccessConfig, username: str, password: str, *, limiter: LoginLimiter,
                       client: str | None = None) -> User:
    """Check a username and password (``mode = "local"``); return the user.

    Parameters
    ----------
    config : AccessConfig
    username, password : str
    limiter : LoginLimiter
        Shared by every session of the app (``st.cache_resource``); counts failures.
    client : str, optional
        Who is trying: the client's address (:func:`client_address`), else the browser session's
        id. Failures are counted per client as well as per username, so one client guessing many
        usernames is locked out too.

    Returns
    -------
    User

    Raises
    ------
    AccessDenied
        ``reason == "login"`` for a wrong username or password (the same message for both, and an
        unknown username costs the same scrypt work), ``"locked"`` while the username is locked
        out, or while ``client`` is (the password is not even checked then).
    AccessConfigError
        When the configuration is not in ``local`` mode.

    Example
    -------
    >>> user = authenticate_local(config, "kalasin", password, limiter=limiter)  # doctest: +SKIP
    """
    if not isinstance(config, AccessConfig):
        raise ArgumentTypeError(f"config must be an AccessConfig, got {type(config).__name__}")
    if config.mode != "local":
        raise AccessConfigError(f"authenticate_local needs mode = \"local\"; the configuration has {config.mode!r}")
    if not isinstance(limiter, LoginLimiter):
        raise ArgumentTypeError(f"limiter must be a LoginLimiter, got {type(limiter).__name__}")
    name = username if isinstance(username, str) else ""
    limiter.check(name, client=client)
    user = config.user(name)
    stored = config.password_hashes.get(user.username.casefold()) if user else None
    ok = verify_password(password if isinstance(password, str) else "", stored or _dummy_hash())
    if not (ok and user and stored):
        limiter.failure(name, client=client)
        raise _login_failed()
    limiter.success(name, client=client)
    return user


def resolve_oidc_user(config: AccessConfig, email: str | None, *, email_verified: bool | None = None) -> User:
    """The user for an identity logged in with ``st.login`` (``mode = "oidc"``), matched by email.

    An email that is not configured (or that the provider says is not verified) gets
    :func:`public_viewer` when ``auth.public_access = true``, and is refused otherwise.

    Parameters
    ----------
    config : AccessConfig
    email : str or None
        ``st.user.email``; compared without regard to case.
    email_verified : bool, optional
        ``st.user.email_verified`` when the provider gives it; ``False`` is treated as unknown.

    Raises
    ------
    AccessDenied
        ``reason == "unknown_identity"``.

    Example
    -------
    >>> user = resolve_oidc_user(config, st.user.email, email_verified=st.user.get("email_verified"))  # doctest: +SKIP
    """
    if not isinstance(config, AccessConfig):
        raise ArgumentTypeError(f"config must be an AccessConfig, got {type(config).__name__}")
    if config.mode != "oidc":
        raise AccessConfigError(f"resolve_oidc_user needs mode = \"oidc\"; the configuration has {config.mode!r}")
    known = None
    if isinstance(email, str) and email_verified is not False:
        username = config.emails.get(email.strip().casefold())
        known = config.user(username) if username else None
    if known is not None:
        return known
    if config.public_access:
        return public_viewer()
    raise AccessDenied(*th_en("access.denied_unknown_identity"), reason="unknown_identity")


# ---------------------------------------------------------------------------------------------
# Logins that survive a page reload: a signed, expiring, HTTP-only session cookie
# ---------------------------------------------------------------------------------------------
#
# Streamlit gives a script no way to set a cookie (st.context.cookies only reads), and a cookie
# set from the browser's JavaScript could not be HTTP-only. So the app's own server does it:
# ``serve.py`` (``streamlit run serve.py``: an ``st.App`` serving the page router ``app.py``) adds
# two plain HTTP routes (:func:`session_routes`). After a good password the page asks :meth:`LoginSessions.start`
# for a one-time ticket and sends the browser to ``/ppap/session?ticket=...``; that route swaps
# the ticket for the cookie and sends the browser back. Every later page load reads the cookie
# (``st.context.cookies``) and :meth:`LoginSessions.resume` turns it back into the user.
#
# The cookie holds ``v1.<session id>.<expiry>.<HMAC-SHA256>``: nothing personal, unforgeable
# without the key, useless after its expiry, and only honoured while the server still holds the
# session (idle timeout, logout and restarts end it; a copied cookie dies with it).

#: Name of the login cookie.
SESSION_COOKIE = "ppap_session"
#: Environment variable holding the key that signs login cookies (else a random key per process).
SESSION_KEY_ENV = "PPAP_SESSION_KEY"
#: Paths of the two routes (under ``server.baseUrlPath``).
SESSION_ROUTE = "/ppap/session"
LOGOUT_ROUTE = "/ppap/logout"
#: Paths the app's server refuses (404) unless ``$PPAP_EXPOSE_METRICS`` is ``1``: Streamlit's
#: metrics say how many sessions are open and how much memory caches use, to anyone who asks.
BLOCKED_PATHS: tuple[str, ...] = ("/_stcore/metrics",)
EXPOSE_METRICS_ENV = "PPAP_EXPOSE_METRICS"
TICKET_SECONDS = 60.0


@dataclass
class _Session:
    username: str
    expires: float
    last_seen: float


class LoginSessions:
    """Logins kept by the server, and the signed cookies that name them.

    One per app process (:func:`login_sessions`). Thread-safe.

    Parameters
    ----------
    key : bytes, optional
        HMAC key for the cookies; ``$PPAP_SESSION_KEY`` when omitted, else 32 random bytes (the
        sessions live in this process's memory anyway, so a restart ends them either way).
    clock : callable, default time.time
    max_sessions : int, default 10000
        Oldest sessions are forgotten first beyond this.

    Example
    -------
    >>> sessions = LoginSessions(b"k" * 32, clock=lambda: 1000.0)
    >>> sid, ticket = sessions.start(User("admin", "administrator"), hours=8)
    >>> cookie, max_age = sessions.redeem(ticket)
    >>> sessions.resume(cookie, idle_seconds=1800)[:2]
    ('admin', 'ok')
    """

    def __init__(self, key: bytes | None = None, *, clock: Callable[[], float] = time.time,
                 max_sessions: int = 10_000) -> None:
        if key is None:
            env = os.environ.get(SESSION_KEY_ENV, "")
            key = env.encode("utf-8") if env else secrets.token_bytes(32)
        if not isinstance(key, (bytes, bytearray)) or len(key) < 16:
            raise ConfigError(f"key must be at least 16 bytes (${SESSION_KEY_ENV}: at least 16 characters)")
        self._key = bytes(key)
        self._clock = clock
        self._max = check_int(max_sessions, "max_sessions", minimum=1)
        self._sessions: OrderedDict[str, _Session] = OrderedDict()
        self._tickets: dict[str, tuple[str, float]] = {}
        self._lock = threading.Lock()
        #: True once :func:`session_routes` serve this object (the app was started as
        #: ``streamlit run serve.py``); until then a login lasts as long as the browser tab.
        self.routes_installed = False

    def _mac(self, sid: str, expires: int) -> str:
        return hmac.new(self._key, f"v1.{sid}.{expires}".encode("ascii"), hashlib.sha256).hexdigest()

    def cookie_value(self, sid: str) -> tuple[str, int]:
        """The signed cookie for session ``sid`` and its remaining life in seconds."""
        with self._lock:
            session = self._sessions.get(sid)
        if session is None:
            raise KeyError("no such session")
        expires = int(session.expires)
        return f"v1.{sid}.{expires}.{self._mac(sid, expires)}", max(0, int(expires - self._clock()))

    def start(self, user: User, *, hours: float) -> tuple[str, str]:
        """Start a session for ``user`` lasting at most ``hours``; return ``(session id, ticket)``.

        The ticket is good for one :meth:`redeem`, within :data:`TICKET_SECONDS`.
        """
        user = _check_user(user)
        if isinstance(hours, bool) or not isinstance(hours, (int, float)) or hours <= 0:
            raise ArgumentError(f"hours must be a positive number, got {_shown(hours)}")
        now = self._clock()
        sid, ticket = secrets.token_urlsafe(18), secrets.token_urlsafe(24)
        with self._lock:
            self._sessions[sid] = _Session(user.username, now + hours * 3600.0, now)
            while len(self._sessions) > self._max:
                self._sessions.popitem(last=False)
            self._tickets = {t: v for t, v in self._tickets.items() if v[1] > now}
            self._tickets[ticket] = (sid, now + TICKET_SECONDS)
        return sid, ticket

    def redeem(self, ticket: str) -> tuple[str, int] | None:
        """The cookie value and max-age for a ticket from :meth:`start`; None when unknown, used or old."""
        if not isinstance(ticket, str):
            return None
        with self._lock:
            sid, until = self._tickets.pop(ticket, ("", 0.0))
        if not sid or until <= self._clock():
            return None
        try:
            return self.cookie_value(sid)
        except KeyError:
            return None

    def session_of(self, cookie: str | None) -> str | None:
        """The session id a well-signed, unexpired cookie names (whether or not it is still held)."""
        if not isinstance(cookie, str) or len(cookie) > 300:
            return None
        parts = cookie.split(".")
        if len(parts) != 4 or parts[0] != "v1" or not parts[2].isdigit():
            return None
        sid, expires, mac = parts[1], int(parts[2]), parts[3]
        if not hmac.compare_digest(mac, self._mac(sid, expires)) or expires <= self._clock():
            return None
        return sid

    def resume(self, cookie: str | None, *, idle_seconds: float) -> tuple[str | None, str, str]:
        """Who a login cookie belongs to: ``(username or None, status, session id)``.

        ``status`` is ``"ok"`` (the session is touched: its idle clock starts again), ``"none"``
        (no cookie), ``"invalid"`` (bad signature, expired, or a session this server does not
        hold: ended by logout or a restart) or ``"idle"`` (unused for longer than
        ``idle_seconds``; the session is ended, and the caller logs ``expired``).
        """
        if not cookie:
            return None, "none", ""
        sid = self.session_of(cookie)
        if sid is None:
            return None, "invalid", ""
        now = self._clock()
        with self._lock:
            session = self._sessions.get(sid)
            if session is None or session.expires <= now:
                self._sessions.pop(sid, None)
                return None, "invalid", sid
            if idle_seconds and now - session.last_seen > idle_seconds:
                del self._sessions[sid]
                return session.username, "idle", sid
            session.last_seen = now
            self._sessions.move_to_end(sid)
            return session.username, "ok", sid

    def touch(self, sid: str) -> None:
        """Start the idle clock of session ``sid`` again (every page run of a logged-in user)."""
        with self._lock:
            session = self._sessions.get(sid)
            if session is not None:
                session.last_seen = self._clock()

    def end(self, sid: str) -> None:
        """End session ``sid`` (logout, idle timeout): its cookie is no longer honoured."""
        with self._lock:
            self._sessions.pop(sid, None)


_LOGIN_SESSIONS: list[LoginSessions] = []
_SESSIONS_LOCK = threading.Lock()


def login_sessions() -> LoginSessions:
    """The process's :class:`LoginSessions`, shared by the server's routes and every page run."""
    with _SESSIONS_LOCK:
        if not _LOGIN_SESSIONS:
            _LOGIN_SESSIONS.append(LoginSessions())
        return _LOGIN_SESSIONS[0]


def idle_expired(last_seen: float | None, now: float, idle_seconds: float) -> bool:
    """True when a session last used at ``last_seen`` has been idle longer than ``idle_seconds``
    (0 = no idle timeout; an unknown ``last_seen`` is not expired).

    Example
    -------
    >>> idle_expired(0.0, 1801.0, 1800), idle_expired(0.0, 1799.0, 1800), idle_expired(0.0, 9e9, 0)
    (True, False, False)
    """
    return bool(idle_seconds) and last_seen is not None and now - last_seen > idle_seconds


def safe_next_path(value: object, base: str = "/") -> str:
    """Where a login route may send the browser back to: a path on this site, else ``base``.

    Example
    -------
    >>> safe_next_path("/households?prov=46"), safe_next_path("//evil.example/"), safe_next_path("https://x")
    ('/households?prov=46', '/', '/')
    """
    if not isinstance(value, str) or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return base
    if any(ord(c) < 32 or ord(c) == 127 for c in value) or len(value) > 2000:
        return base
    return value


def _cookie_header(name: str, value: str, *, max_age: int, path: str, secure: bool) -> bytes:
    parts = [f"{name}={value}", f"Path={path}", f"Max-Age={max_age}", "HttpOnly", "SameSite=Strict"]
    if secure:
        parts.append("Secure")
    return "; ".join(parts).encode("latin-1")


def _query(scope: Mapping) -> dict[str, str]:
    from urllib.parse import parse_qsl

    return dict(parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=False))


def _is_https(scope: Mapping, trusted_proxies: Iterable[str]) -> bool:
    if scope.get("scheme") == "https":
        return True
    client = (scope.get("client") or ("", 0))[0]
    if client_address(client, None, trusted_proxies=trusted_proxies) is None:  # a trusted proxy (or loopback)
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        return headers.get("x-forwarded-proto", "").split(",")[0].strip().lower() == "https"
    return False


async def _redirect(send: Callable, location: str, cookie: bytes | None = None) -> None:
    headers = [(b"location", location.encode("latin-1")), (b"cache-control", b"no-store"),
               (b"content-length", b"0")]
    if cookie is not None:
        headers.append((b"set-cookie", cookie))
    await send({"type": "http.response.start", "status": 303, "headers": headers})
    await send({"type": "http.response.body", "body": b""})


class SessionCookieRoute:
    """ASGI endpoint of ``/ppap/session?ticket=...&next=/page``: swap a one-time ticket for the
    HTTP-only login cookie (``SameSite=Strict``; ``Secure`` behind HTTPS) and go back to ``next``.

    An unknown, used or old ticket sets nothing and goes back all the same.
    """

    def __init__(self, sessions: LoginSessions, *, base_path: str = "/", trusted_proxies: Iterable[str] = ()) -> None:
        self.sessions = sessions
        self.base_path = "/" + base_path.strip("/") if base_path.strip("/") else "/"
        self.trusted_proxies = tuple(trusted_proxies)

    async def __call__(self, scope: Mapping, receive: Callable, send: Callable) -> None:
        query = _query(scope)
        back = safe_next_path(query.get("next"), self.base_path)
        issued = self.sessions.redeem(query.get("ticket", ""))
        cookie = None
        if issued is not None:
            value, max_age = issued
            cookie = _cookie_header(SESSION_COOKIE, value, max_age=max_age, path=self.base_path,
                                    secure=_is_https(scope, self.trusted_proxies))
        await _redirect(send, back, cookie)


class LogoutCookieRoute(SessionCookieRoute):
    """ASGI endpoint of ``/ppap/logout?next=/``: delete the login cookie and go back. (The page
    has already ended the session on the server, so a kept copy of the cookie is worthless.)"""

    async def __call__(self, scope: Mapping, receive: Callable, send: Callable) -> None:
        back = safe_next_path(_query(scope).get("next"), self.base_path)
        cookie = _cookie_header(SESSION_COOKIE, "", max_age=0, path=self.base_path,
                                secure=_is_https(scope, self.trusted_proxies))
        await _redirect(send, back, cookie)


class BlockPaths:
    """ASGI middleware answering 404 to :data:`BLOCKED_PATHS` (Streamlit's metrics) before
    Streamlit sees the request; ``$PPAP_EXPOSE_METRICS=1`` lets them through."""

    def __init__(self, app: Callable, *, paths: Iterable[str] = BLOCKED_PATHS, base_path: str = "/") -> None:
        self.app = app
        prefix = "/" + base_path.strip("/") if base_path.strip("/") else ""
        self.paths = tuple(prefix + p for p in paths)

    async def __call__(self, scope: Mapping, receive: Callable, send: Callable) -> None:
        path = str(scope.get("path", "")).rstrip("/")
        if (scope.get("type") == "http" and os.environ.get(EXPOSE_METRICS_ENV) != "1"
                and any(path == p or path.startswith(p + "/") for p in self.paths)):
            await send({"type": "http.response.start", "status": 404,
                        "headers": [(b"content-type", b"text/plain"), (b"content-length", b"9")]})
            await send({"type": "http.response.body", "body": b"Not Found"})
            return
        await self.app(scope, receive, send)


def session_routes(sessions: LoginSessions, *, base_path: str = "/", trusted_proxies: Iterable[str] = ()):
    """Starlette routes for ``serve.py``'s server: :class:`SessionCookieRoute` and
    :class:`LogoutCookieRoute`; marks ``sessions.routes_installed``. (Imports Starlette, which
    comes with Streamlit; nothing else in ``geo`` does.)"""
    from starlette.routing import Route

    prefix = "/" + base_path.strip("/") if base_path.strip("/") else ""
    sessions.routes_installed = True
    kwargs = {"base_path": base_path, "trusted_proxies": trusted_proxies}
    return [Route(prefix + SESSION_ROUTE, SessionCookieRoute(sessions, **kwargs), methods=["GET"]),
            Route(prefix + LOGOUT_ROUTE, LogoutCookieRoute(sessions, **kwargs), methods=["GET"])]


def server_middleware(*, base_path: str = "/"):
    """Starlette middleware for ``serve.py``'s server: :class:`BlockPaths`."""
    from starlette.middleware import Middleware

    return [Middleware(BlockPaths, base_path=base_path)]


# ---------------------------------------------------------------------------------------------
# OpenID Connect (st.login) settings
# ---------------------------------------------------------------------------------------------

_OIDC_PROVIDER_KEYS = ("client_id", "client_secret", "server_metadata_url")


def oidc_problem(auth: Mapping[str, object] | None, provider: str | None = None) -> str:
    """Why Streamlit's OpenID Connect login (``st.login``) cannot work with the ``[auth]`` section
    of ``.streamlit/secrets.toml``; ``""`` when it can. The login page offers the provider's
    button only then.

    Needed: ``redirect_uri`` (ending in ``/oauth2callback``) and ``cookie_secret`` (at least 32
    characters: it signs Streamlit's HTTP-only identity cookie) in ``[auth]``, and
    ``client_id``, ``client_secret`` and ``server_metadata_url`` in ``[auth]`` itself, or in
    ``[auth.<provider>]`` when ``access.toml`` names ``oidc_provider``.

    Example
    -------
    >>> oidc_problem(None)
    'no [auth] section in .streamlit/secrets.toml'
    >>> oidc_problem({"redirect_uri": "https://atlas.example.org/oauth2callback", "cookie_secret": "x" * 32,
    ...               "google": {"client_id": "a", "client_secret": "b",
    ...                          "server_metadata_url": "https://accounts.google.com/.well-known/openid-configuration"}},
    ...              "google")
    ''
    """
    if not isinstance(auth, Mapping) or not auth:
        return "no [auth] section in .streamlit/secrets.toml"
    redirect = auth.get("redirect_uri")
    if not isinstance(redirect, str) or not redirect.rstrip("/").endswith("/oauth2callback"):
        return "[auth] redirect_uri must be the app's address + /oauth2callback"
    cookie_secret = auth.get("cookie_secret")
    if not isinstance(cookie_secret, str) or len(cookie_secret) < 32:
        return "[auth] cookie_secret must be a random string of at least 32 characters"
    section, where = auth, "[auth]"
    if provider is not None:
        section, where = auth.get(provider), f"[auth.{provider}]"
        if not isinstance(section, Mapping):
            return f"no {where} section in .streamlit/secrets.toml (access.toml names oidc_provider = {provider!r})"
    missing = [k for k in _OIDC_PROVIDER_KEYS if not (isinstance(section.get(k), str) and section.get(k))]
    if missing:
        return f"{where} needs {', '.join(missing)}"
    if not str(section["server_metadata_url"]).startswith("https://"):
        return f"{where} server_metadata_url must be an https:// address"
    return ""


V = TypeVar("V")


def limit_min_count(view: V, user: User) -> tuple[V, AccessDenied | None]:
    """The view with a minimum count ``user``'s role may use, and the refusal when it was lowered.

    ``view.min_count`` goes through :func:`check_min_count`: a ``k`` below the role's
    floor (``?k=1`` for anyone but an administrator) is refused, and the view falls back to the
    floor, so the page can show the refusal and still draw protected figures.

    Returns
    -------
    (ViewState, AccessDenied or None)

    Example
    -------
    >>> from geo.views.viewstate import ViewState
    >>> view, denied = limit_min_count(ViewState(min_count=1), public_viewer())
    >>> view.min_count, denied.reason
    (10, 'min_count')
    """
    try:
        check_min_count(view.min_count, user)
    except AccessDenied as exc:
        return replace(view, min_count=user.capabilities.min_count), exc
    return view, None
