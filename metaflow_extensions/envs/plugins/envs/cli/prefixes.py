"""Where an environment is present on this machine (layout: hydrate/prefix.py)."""
from typing import List

from ..hydrate.prefix import is_complete, marker_full_id, named_prefixes, own_prefix
from ..lock import ResolvedEnvironment


def present_as(env: ResolvedEnvironment) -> List[str]:
    """Complete local prefixes of `env` (its own and named ones)."""
    out = []
    own = own_prefix(env)
    if is_complete(own, env):
        out.append(str(own))
    out += [str(path) for _, path in named_prefixes() if marker_full_id(path) == env.full_id]
    return out
