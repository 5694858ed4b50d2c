"""Where environments are created on this machine.

`<cache>/envs/<arch>/<req_id[:16]>/<full_id[:16]>` is an environment's own prefix (what
flows use); `create --name NAME` makes `<cache>/envs/named/NAME`. A prefix is complete when
its marker file holds the environment's full_id; it may be removed or re-created only when
it carries the ownership marker written when its creation started (see hydrate/install.py).
"""
from pathlib import Path
from typing import Iterator, List, Tuple

from .. import settings
from ..environments import Environments
from ..hydrate.install import MARKER, is_complete
from ..lock import ResolvedEnvironment

NAMED_DIR = "named"


def envs_root() -> Path:
    return settings.cache_dir("envs")


def named_prefix(name: str) -> Path:
    return envs_root() / NAMED_DIR / name


def marker_full_id(prefix: Path) -> str:
    try:
        return (prefix / MARKER).read_text().strip()
    except OSError:
        return ""


def named_prefixes() -> Iterator[Tuple[str, Path]]:
    root = envs_root() / NAMED_DIR
    if root.is_dir():
        for path in sorted(root.iterdir()):
            if path.is_dir():
                yield path.name, path


def present_as(envs: Environments, env: ResolvedEnvironment) -> List[str]:
    """Complete local prefixes of `env` (its own and named ones)."""
    out = []
    own = envs.prefix_for(env)
    if is_complete(own, env):
        out.append(str(own))
    out += [str(path) for _, path in named_prefixes() if marker_full_id(path) == env.full_id]
    return out
