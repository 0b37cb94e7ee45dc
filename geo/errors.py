"""The project's own error types. Every error ``geo`` raises on purpose is a ``PPAPError``.

The command line turns a ``PPAPError`` into one readable line and a non-zero exit, never a
traceback; pages show its message to the user (``exc.message(lang)``, one line).

This module is the bottom layer of ``geo`` (``.importlinter``): it imports nothing from the rest
of the library, so every layer can raise these. Every exception class of ``geo`` is defined here
(``tests/geo/test_errors.py`` checks it).

Messages are bilingual where a user may read them: ``PPAPError(message_en, message_th)``;
``str(exc)`` is the English text (what logs, the command line and tests see) and
``exc.message("th")`` the Thai (the English when no Thai was given).
"""

from __future__ import annotations


class PPAPError(Exception):
    """Base class for errors a user can read and act on.

    Parameters
    ----------
    message_en : str
        The message in English; ``str(exc)``.
    message_th : str, optional
        The message in Thai; :meth:`message` gives the English when it is missing.
    """

    def __init__(self, message_en: str = "", message_th: str | None = None) -> None:
        super().__init__(message_en)
        self.message_en = str(message_en)
        self.message_th = message_th

    def message(self, lang: str = "th") -> str:
        """The message in one language (``"th"`` or ``"en"``)."""
        if lang == "th" and self.message_th:
            return self.message_th
        return self.message_en or str(self)

    def __reduce__(self):  # keeps both languages through pickling (the isolated import)
        return (type(self), (self.message_en, self.message_th))


# ---------------------------------------------------------------------------------------------
# Arguments and settings
# ---------------------------------------------------------------------------------------------


class ArgumentError(PPAPError, ValueError):
    """A function of ``geo`` was given an argument value it does not accept."""


class ArgumentTypeError(PPAPError, TypeError):
    """A function of ``geo`` was given an argument of the wrong kind."""


class EngineInputError(ArgumentError):
    """An argument given to the geo engine (or a view of it) is out of range or of the wrong kind."""


class ConfigError(PPAPError, ValueError):
    """A setting (an environment variable, a configuration file) is invalid; the message names it."""


# ---------------------------------------------------------------------------------------------
# Data
# ---------------------------------------------------------------------------------------------


class ContractError(PPAPError):
    """Data does not keep the household or pilot data contract."""


class BoundaryError(PPAPError):
    """Boundaries cannot be read, matched, downloaded or found."""


class StoreError(PPAPError):
    """The store cannot be read or written, or changed under an import."""


class IdKeyError(PPAPError):
    """The key for hashing national IDs is missing or too weak."""


class RoundError(ArgumentError):
    """A survey round (or a pair of rounds) was asked for that the data does not hold or that
    makes no comparison (the earlier round not before the later)."""


# ---------------------------------------------------------------------------------------------
# Import
# ---------------------------------------------------------------------------------------------


class InputFileError(PPAPError):
    """A user's file cannot be read at all (wrong type, empty, corrupt, protected)."""


class ImportLimitError(InputFileError):
    """A file is over one of the import's limits; the message says which, in English and Thai.

    Attributes
    ----------
    code : str
        ``file_too_large``, ``unpacked_too_large``, ``compression_ratio``, ``too_many_rows``,
        ``too_many_columns``, ``cell_too_long`` or ``memory``.
    message_en, message_th : str
        The reason in each language, each starting with the file's name.
    """

    def __init__(self, code: str, message_en: str, message_th: str) -> None:
        Exception.__init__(self, f"{message_en} / {message_th}")
        self.code = code
        self.message_en = message_en
        self.message_th = message_th

    def __reduce__(self):  # keeps the three fields through pickling (the isolated import)
        return (type(self), (self.code, self.message_en, self.message_th))


class ImportProcessError(PPAPError):
    """The isolated import's child process failed without a readable error of its own."""


# ---------------------------------------------------------------------------------------------
# Access and audit
# ---------------------------------------------------------------------------------------------


class AccessDenied(PPAPError):
    """The user may not do or see this. ``str()`` gives Thai, then English; safe to show.

    Attributes
    ----------
    reason : str
        A short code for tests and the audit log: ``rows``, ``scope``, ``import``, ``audit``,
        ``min_count``, ``login``, ``locked``, ``unknown_identity`` or ``setting``.
    message_th, message_en : str
        The message in each language.
    """

    def __init__(self, message_th: str, message_en: str, *, reason: str) -> None:
        Exception.__init__(self, f"{message_th} · {message_en}")
        self.message_th = message_th
        self.message_en = message_en
        self.reason = reason

    def message(self, lang: str = "th") -> str:
        """The message in one language (``"th"`` or ``"en"``)."""
        return self.message_en if lang == "en" else self.message_th

    def __reduce__(self):
        return (_access_denied, (self.message_th, self.message_en, self.reason))


def _access_denied(message_th: str, message_en: str, reason: str) -> AccessDenied:
    return AccessDenied(message_th, message_en, reason=reason)


class AccessConfigError(ConfigError):
    """A user definition or the access configuration is invalid; the message names the key."""


class AuditError(PPAPError):
    """The audit log cannot be written or read (damaged last line, permissions, disk)."""


# ---------------------------------------------------------------------------------------------
# Export
# ---------------------------------------------------------------------------------------------


class ExportError(PPAPError, ValueError):
    """A map export was asked for with a bad argument (format, size, figure, output folder)."""


class FontError(PPAPError):
    """The project's Thai font is not installed or cannot be registered."""
