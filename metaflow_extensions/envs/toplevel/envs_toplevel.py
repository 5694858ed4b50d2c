"""`from metaflow import resolved_uv, resolved_req`, as the reference exports them. Every
public name here (modules aside) becomes a name of `metaflow`: import nothing else."""
from ..plugins.envs.integration import mutators

# Metaflow names the extensions it runs with in its version (`2.19.3+envs(0.1.0)`).
__mf_extensions__ = "envs"
__version__ = mutators.extension_version()

if mutators.FlowMutator is not None:  # Metaflow >= 2.16
    from ..plugins.envs.integration.mutators import resolved_req, resolved_uv  # noqa: F401
