"""`create --install-notebook`: a Jupyter kernel running an environment's Python.

The kernel spec is written as `<jupyter data dir>/kernels/<name>/kernel.json` (no Jupyter
needed to write it). The kernel starts `python -m ipykernel_launcher`, so an environment
without ipykernel is extended with it first (as the reference does): the kernel runs in that
extension, which keeps every version the environment locked.
"""
import hashlib
import json
import os
import re
import sys
from pathlib import Path
from typing import Optional

from ..environments import Environments
from ..lock import ResolvedEnvironment
from ..spec.model import EnvSpec, PypiDep

_KERNEL_NAME_BAD = re.compile(r"[^a-z0-9._-]+")
# The kernel name is a directory name: an alias or pathspec can be longer than a file name may
# be (255 bytes), so a long one is cut and told apart by a hash of the whole label.
_KERNEL_NAME_MAX = 100


def kernel_name(label: str) -> str:
    """Jupyter kernel names use [a-z0-9._-]: `team/env:v1` -> `mf-team-env-v1`."""
    name = "mf-" + (_KERNEL_NAME_BAD.sub("-", label.lower()).strip("-.") or "env")
    if len(name) <= _KERNEL_NAME_MAX:
        return name
    digest = hashlib.sha256(label.encode("utf-8")).hexdigest()[:12]
    return "%s-%s" % (name[:_KERNEL_NAME_MAX - len(digest) - 1].rstrip("-."), digest)


def user_data_dir() -> Path:
    """Jupyter's per-user data dir ($JUPYTER_DATA_DIR, else the platform default)."""
    if os.environ.get("JUPYTER_DATA_DIR"):
        return Path(os.environ["JUPYTER_DATA_DIR"]).expanduser()
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Jupyter"
    base = os.environ.get("XDG_DATA_HOME") or os.path.join(os.path.expanduser("~"), ".local", "share")
    return Path(base) / "jupyter"


def kernels_dir(prefix: Optional[str]) -> Path:
    """Like `jupyter kernelspec install --prefix`: `<prefix>/share/jupyter/kernels`."""
    if prefix:
        return Path(prefix).expanduser().absolute() / "share" / "jupyter" / "kernels"
    return user_data_dir() / "kernels"


def has_ipykernel(env: ResolvedEnvironment) -> bool:
    return any(p.name == "ipykernel" for p in env.packages)


def install_kernel(python: Path, name: str, display_name: str, prefix: Optional[str] = None,
                   pythonpath: Optional[str] = None) -> Path:
    """Write the kernel spec; returns the path of its kernel.json."""
    spec = {
        "argv": [str(python), "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": display_name,
        "language": "python",
        "metadata": {"debugger": True, "metaflow_envs": True},
    }
    if pythonpath:
        spec["env"] = {"PYTHONPATH": pythonpath}
    directory = kernels_dir(prefix) / name
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "kernel.json"
    tmp = directory / ".kernel.json.tmp"
    tmp.write_text(json.dumps(spec, indent=1) + "\n")
    os.replace(tmp, path)
    return path


def with_ipykernel(envs: Environments, env: ResolvedEnvironment) -> ResolvedEnvironment:
    """`env` itself if it has ipykernel, else `env` extended with it."""
    if has_ipykernel(env):
        return env
    return envs.extend(env, EnvSpec(pypi_deps=(PypiDep.parse("ipykernel"),), platform=env.arch))
