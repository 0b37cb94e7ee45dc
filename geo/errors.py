"""The project's own error types. Every error ``geo`` raises on purpose is a ``PPAPError``.

The command line turns a ``PPAPError`` into one readable line and a non-zero exit, never a
traceback; pages show its message to the user.
"""


class PPAPError(Exception):
    """Base class for errors a user can read and act on."""


class ContractError(PPAPError):
    """Data does not keep the household or pilot data contract."""


class BoundaryError(PPAPError):
    """Boundaries cannot be read, matched, downloaded or found."""


class InputFileError(PPAPError):
    """A user's file cannot be read at all (wrong type, empty, corrupt, protected)."""


class ExportError(PPAPError, ValueError):
    """A map export was asked for with a bad argument (format, size, figure, output folder)."""
