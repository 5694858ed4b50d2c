"""How the command lines report a failure: the engine's one-line entry-point handling, under
the names the commands use."""
from ..errors import EXIT_ERROR, EXIT_INTERRUPTED, EXIT_USAGE, PREFIX, fail, one_line  # noqa: F401
from ..errors import exit_on_user_error as one_line_errors  # noqa: F401
