"""What Metaflow itself needs in a task (its pinned `requests`, and the datastore's client
such as `boto3` for S3), as PyPI requirements: one place for the flow layer
(environment.py) and `metaflow environment resolve`."""
from dataclasses import replace
from typing import Iterable, Optional, Tuple

from ..lock import ResolvedEnvironment
from ..spec.model import CondaDep, EnvSpec, PypiDep


def metaflow_needs(python: Optional[str], datastore_type: Optional[str], have: Iterable[str]) -> Tuple[PypiDep, ...]:
    """Metaflow's pinned libraries for this datastore, less the packages named in `have`."""
    from metaflow.metaflow_config import get_pinned_conda_libs
    from packaging.utils import canonicalize_name

    present = {canonicalize_name(name) for name in have}
    needed = get_pinned_conda_libs(python, datastore_type or "local")
    return tuple(PypiDep.parse("%s%s" % (name, version)) for name, version in sorted(needed.items())
                 if canonicalize_name(name) not in present)


def missing_from(env: ResolvedEnvironment, datastore_type: Optional[str]) -> Tuple[PypiDep, ...]:
    """What Metaflow needs in a task that the resolved `env` lacks."""
    return metaflow_needs(env.python_version, datastore_type, [p.name for p in env.packages])


def with_metaflow_needs(spec: EnvSpec, datastore_type: Optional[str], base: Optional[ResolvedEnvironment] = None,
                        no_pypi: bool = False) -> EnvSpec:
    """`spec` plus what Metaflow needs in a task, unless the request (its lock, or `base`,
    the environment `spec` extends) names them already: from PyPI, or from Conda (same
    names) for a `no_pypi` request. A request in pip's hash-checking mode is left as it
    is: a requirement without a hash would end that mode (the flow extends the environment
    with them when it uses it)."""
    if any(d.hashes for d in spec.pypi_deps):
        return spec
    named = [d.name for d in spec.conda_deps] + [d.name for d in spec.pypi_deps if d.name]
    named += [e.name for e in spec.pypi_locked.entries] if spec.pypi_locked is not None else []
    named += [p.name for p in base.packages] if base is not None else []
    python = spec.python or (base.python_version if base is not None else None)
    extra = metaflow_needs(python, datastore_type, named)
    if no_pypi:
        return replace(spec, conda_deps=spec.conda_deps + tuple(CondaDep.parse(str(d)) for d in extra))
    return replace(spec, pypi_deps=spec.pypi_deps + extra) if extra else spec
