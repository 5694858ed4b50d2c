"""User-facing errors: one clear message naming what to change, never a traceback."""
from typing import Optional


class EnvError(Exception):
    """A mistake the user can fix (bad spec, unknown package, unreachable source...).

    `str(err)` is the whole message shown to the user; callers print it and exit non-zero.
    """

    def __init__(self, message: str, hint: Optional[str] = None) -> None:
        self.message = message
        self.hint = hint
        super().__init__(message if not hint else "%s\n%s" % (message, hint))


class SpecError(EnvError):
    """The request itself is malformed (file, version, requirement)."""


class ResolveError(EnvError):
    """The request is well formed but cannot be resolved (unsatisfiable, unknown package,
    unreachable source, bad credentials)."""


class HydrateError(EnvError):
    """A lock could not be turned into a working prefix (download, checksum, install)."""
