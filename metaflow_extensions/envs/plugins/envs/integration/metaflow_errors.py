"""The one translation of our errors for Metaflow: an EnvError becomes a MetaflowException,
which Metaflow prints as one message without a traceback (with METAFLOW_DEBUG_CONDA=1 the
EnvError and its traceback go through as they are)."""

from metaflow.exception import MetaflowException

from ..errors import EnvError, translating


class EnvironmentProblem(MetaflowException):
    headline = "Environment error"


class InvalidEnvRequest(MetaflowException):
    """A mistake in the environment decorators of a flow; Metaflow prints it without a
    traceback."""

    headline = "Invalid environment request"


def metaflow_error(err: EnvError, request: bool = False) -> MetaflowException:
    """`err` as Metaflow shows it: InvalidEnvRequest for a mistake in the decorators
    (`request`), EnvironmentProblem for anything else."""
    # Metaflow's echo takes '*' as a highlight toggle and drops it ('3.11.*' would show as
    # '3.11.'): show the look-alike ASTERISK OPERATOR instead.
    text = str(err).replace("*", "\u2217")
    return InvalidEnvRequest(text) if request else EnvironmentProblem(text)


# The Metaflow boundary: environment hooks, mutators.
translated = translating(metaflow_error)
