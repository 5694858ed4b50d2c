"""How the command lines report a failure: one line on stderr naming what to change and a
non-zero exit; the traceback only with METAFLOW_DEBUG_CONDA=1."""
import functools
import sys
from typing import Any, Callable, TypeVar

from ..errors import EnvError, debug_enabled

T = TypeVar("T")
PREFIX = "metaflow-envs error: "
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


def one_line(text: str) -> str:
    return " ".join(part.strip() for part in str(text).strip().splitlines() if part.strip())


def fail(message: str, status: int = EXIT_ERROR) -> None:
    print(PREFIX + one_line(message), file=sys.stderr, flush=True)
    sys.exit(status)


def one_line_errors(func: Callable[..., T]) -> Callable[..., T]:
    """For a command's body: EnvError (the user's to fix) and anything unexpected both end in
    one line; SystemExit (and click's own exceptions) pass through."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> T:
        try:
            return func(*args, **kwargs)
        except EnvError as err:
            if debug_enabled():
                raise
            fail(str(err))
        except KeyboardInterrupt:
            if debug_enabled():
                raise
            fail("interrupted.", EXIT_INTERRUPTED)
        except (SystemExit, GeneratorExit):
            raise
        except Exception as err:
            if debug_enabled() or type(err).__module__.startswith("click") or "click" in type(err).__module__:
                raise
            fail("unexpected %s: %s (set METAFLOW_DEBUG_CONDA=1 to see the traceback and report it)."
                 % (type(err).__name__, err))
        raise AssertionError("unreachable")

    return wrapper
