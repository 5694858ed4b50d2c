"""User-facing errors: one clear message naming what to change, never a traceback."""
import functools
import sys
from typing import Any, Callable, Optional, TypeVar

T = TypeVar("T")


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


class StoreError(EnvError):
    """The datastore could not be read or written."""


class HydrateError(EnvError):
    """A lock could not be turned into a working prefix (download, checksum, install)."""


def debug_enabled() -> bool:
    import os

    return os.environ.get("METAFLOW_DEBUG_CONDA", "").lower() not in ("", "0", "false", "no")


def exit_on_user_error(func: Callable[..., T]) -> Callable[..., T]:
    """For entry points: an EnvError becomes one line on stderr and exit status 1
    (the full traceback only with METAFLOW_DEBUG_CONDA=1)."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> T:
        try:
            return func(*args, **kwargs)
        except EnvError as err:
            if debug_enabled():
                raise
            print("metaflow-envs error: %s" % err, file=sys.stderr)
            sys.exit(1)

    return wrapper
