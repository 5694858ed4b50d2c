"""`create --into-dir` for a step without a code package: the Metaflow that step ran with.

A step's code package carries its Metaflow (and extensions). Without one (a local run that
saved none), the reference installs the Metaflow version the task recorded
(`metaflow_version` metadata) instead, and `--strict` (its default) fails when that version
cannot be installed in the environment; `--no-strict` goes on with the environment as it is.
Here the environment is extended with `metaflow==<version>` (as --install-notebook extends
it with ipykernel), so the step's Python imports that Metaflow.
"""
import re
from typing import Any, Optional

from ..environments import Environments
from ..errors import EnvError
from ..lock import ResolvedEnvironment
from ..spec.model import EnvSpec, PypiDep

# `2.19.3`, `2.19.3.post1`, `2.19.3+envs(0.1)`...: the public version (what an index serves);
# the local part after `+` names extensions, which the code package would have carried.
_PUBLIC_VERSION = re.compile(r"^\s*v?([0-9]+(?:\.[0-9]+)*(?:(?:a|b|rc|\.post|\.dev)[0-9]+)*)")


def recorded_version(task: Any) -> Optional[str]:
    """The public Metaflow version `task` (a Metaflow client Task, or None) ran with."""
    if task is None:
        return None
    try:
        value = task.metadata_dict.get("metaflow_version")
    except Exception:  # noqa: BLE001 — a client that cannot read metadata: nothing recorded
        return None
    match = _PUBLIC_VERSION.match(value) if isinstance(value, str) else None
    return match.group(1) if match else None


def has_metaflow(env: ResolvedEnvironment, version: str) -> bool:
    return any(p.name == "metaflow" and p.version == version for p in env.packages)


def with_step_metaflow(envs: Environments, env: ResolvedEnvironment, version: Optional[str], pathspec: str,
                       strict: bool, warn: Any) -> ResolvedEnvironment:
    """`env` extended with Metaflow `version`; when that fails: an error with `strict`,
    else a warning (through `warn`) and `env` as it is."""
    if version is None:
        problem = "step %s recorded no Metaflow version" % pathspec
    elif has_metaflow(env, version):
        return env
    else:
        try:
            return envs.extend(env, EnvSpec(pypi_deps=(PypiDep.parse("metaflow==%s" % version),), platform=env.arch))
        except EnvError as err:
            problem = "Metaflow %s, which step %s ran with, cannot be installed in its environment (%s)" % (
                version, pathspec, err.message.rstrip("."))
    if strict:
        raise EnvError("%s: the step has no code package to take it from. Add --no-strict to create the "
                       "environment without it." % problem)
    warn("%s: creating the environment without it (--no-strict)." % problem)
    return env
