"""User-facing errors: one clear message naming what to change, never a traceback."""
import functools
import sys
from typing import Any, Callable, Optional, TypeVar

T = TypeVar("T")


class EnvError(Exception):
    """A mistake the user can fix (bad spec, unknown package, unreachable source...).

    `str(err)` is the whole message shown to the user; callers print it and exit non-zero
    (`exit_status`).
    """

    exit_status = 1

    def __init__(self, message: str, hint: Optional[str] = None) -> None:
        self.message = message
        self.hint = hint
        super().__init__(message if not hint else "%s\n%s" % (message, hint))


class SpecError(EnvError):
    """The request itself is malformed (file, version, requirement)."""


class UsageError(SpecError):
    """A command-line value outside an option's choices (--format, --arch): a usage mistake,
    exit status 2 like click's own."""

    exit_status = 2


class ResolveError(EnvError):
    """The request is well formed but cannot be resolved (unsatisfiable, unknown package,
    unreachable source, bad credentials)."""


class StoreError(EnvError):
    """The datastore could not be read or written."""


class HydrateError(EnvError):
    """A lock could not be turned into a working prefix (download, checksum, install)."""


# ---- what went wrong, by type: callers branch on these, never on a message's text ----------
class UnknownEnvironment(EnvError):
    """No environment goes by that alias, pathspec or id (here or in the datastore)."""


class CorruptLock(StoreError):
    """A lock that was found (in the local index or in the datastore) but cannot be used."""


class AliasConflict(SpecError):
    """An immutable alias already names another environment (or was just taken by another
    writer)."""



def debug_enabled() -> bool:
    """METAFLOW_DEBUG_CONDA, through the settings table (the environment, then a profile). A
    value that is not allowed is off here, where an error is being reported already; entry
    points refuse it first (`exit_on_user_error`)."""
    from .settings_table import read

    try:
        return bool(read("DEBUG_CONDA"))
    except SpecError:
        return False


def check_debug_setting() -> None:
    """Entry points refuse a bad METAFLOW_DEBUG_CONDA first (SpecError): `debug_enabled`,
    asked while another error is reported, takes it as off."""
    from .settings_table import read

    read("DEBUG_CONDA")


PREFIX = "metaflow-envs error: "
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


def one_line(text: str) -> str:
    return " ".join(part.strip() for part in str(text).strip().splitlines() if part.strip())


def fail(message: str, status: int = EXIT_ERROR) -> None:
    print(PREFIX + one_line(message), file=sys.stderr, flush=True)
    sys.exit(status)


def translating(translate: Callable[[EnvError], BaseException]) -> Callable[[Callable[..., T]], Callable[..., T]]:
    """The one shape of a boundary's translation: a bad METAFLOW_DEBUG_CONDA is refused first,
    then an EnvError from the function is raised as `translate(err)` (as it is, with its
    traceback, under METAFLOW_DEBUG_CONDA=1)."""

    def decorate(func: Callable[..., T]) -> Callable[..., T]:
        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> T:
            try:
                check_debug_setting()
                return func(*args, **kwargs)
            except EnvError as err:
                if debug_enabled():
                    raise
                raise translate(err) from None

        return wrapper

    return decorate


def _reported(err: EnvError) -> SystemExit:
    print(PREFIX + one_line(str(err)), file=sys.stderr, flush=True)
    return SystemExit(err.exit_status)


def exit_on_user_error(func: Callable[..., T]) -> Callable[..., T]:
    """The command-line boundary (commands, the bootstrap, scripts): an EnvError — the user's to
    fix — and anything unexpected both end in one line on stderr and a non-zero exit; the
    traceback only with METAFLOW_DEBUG_CONDA=1. SystemExit (and click's own exceptions) pass
    through."""
    translated = translating(_reported)(func)

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> T:
        try:
            return translated(*args, **kwargs)
        except KeyboardInterrupt:
            if debug_enabled():
                raise
            fail("interrupted.", EXIT_INTERRUPTED)
        except (SystemExit, GeneratorExit):
            raise
        except Exception as err:
            if debug_enabled() or "click" in type(err).__module__:
                raise
            fail("unexpected %s: %s (set METAFLOW_DEBUG_CONDA=1 to see the traceback and report it)."
                 % (type(err).__name__, err))
        raise AssertionError("unreachable")

    return wrapper
