"""Settings an administrator changes in the app, each change checked and recorded.

Today one: which dataset every page shows (:func:`geo.data.source.dataset_choice`: the bundled
sample, the imported store, or ``auto``). Only an administrator may change it — it changes what every
user sees — and every change is an audit record (``event = "setting"``, ``what`` the old and new
value), written before the setting is: a change the log cannot record is not made.
"""

from __future__ import annotations

import datetime as dt
import os

from geo.access.audit import log_event
from geo.access.roles import User
from geo.data.source import DATASET_CHOICES, dataset_choice, write_dataset_choice
from geo.errors import AccessDenied, ArgumentError, ArgumentTypeError
from geo.text import label


def may_change_settings(user: User) -> bool:
    """Whether ``user`` may change the app's settings: administrators only. Never raises."""
    return isinstance(user, User) and user.role == "administrator"


def change_dataset(user: User, choice: str, *, settings: str | os.PathLike[str] | None = None,
                   audit: str | os.PathLike[str] | None = None, now: dt.datetime | None = None) -> str:
    """Make ``choice`` the dataset every page shows, as ``user``; return the choice it replaced.

    Parameters
    ----------
    user : User
        Must be an administrator.
    choice : {"auto", "sample", "store"}
    settings, audit : path, optional
        The settings file and the audit log (their defaults when omitted).

    Raises
    ------
    AccessDenied
        ``reason == "setting"``: ``user`` is not an administrator.
    ArgumentError
        ``choice`` is not one of :data:`geo.data.source.DATASET_CHOICES`.
    AuditError, ConfigError
        The audit record or the settings file cannot be written (then nothing changed).

    Example
    -------
    >>> change_dataset(User("admin", "administrator"), "sample")  # doctest: +SKIP
    'auto'
    """
    if not isinstance(user, User):
        raise ArgumentTypeError(f"user must be a geo.access.roles.User, got {type(user).__name__}")
    if choice not in DATASET_CHOICES:
        raise ArgumentError(f"dataset must be one of {', '.join(DATASET_CHOICES)}; got {str(choice)[:40]!r}")
    if not may_change_settings(user):
        raise AccessDenied(label("dataset_admin_only", "th"), label("dataset_admin_only", "en"), reason="setting")
    before = dataset_choice(settings)
    log_event("setting", user, what=f"dataset {before} -> {choice}", path=audit, now=now)
    write_dataset_choice(choice, settings)
    return before
