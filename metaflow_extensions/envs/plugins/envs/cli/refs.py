"""What an ENV argument names: an alias (`team/env[:tag]`), a pathspec (`Flow/run/step`),
or an environment id (`req_id:full_id`, optionally `:arch`). Parsing only checks syntax
(before any work); `find` then looks the environment up."""
from dataclasses import dataclass
from typing import Optional

from ..environments import Environments
from ..errors import SpecError, UnknownEnvironment
from ..ids import CONDA_PLATFORMS, Alias, EnvID, is_hex_id, parse_alias
from ..lock import ResolvedEnvironment
from ..resolve.platforms import host_platform


@dataclass(frozen=True)
class EnvRef:
    text: str
    alias: Optional[Alias] = None
    req_id: Optional[str] = None
    full_id: Optional[str] = None
    arch: Optional[str] = None

    @property
    def is_pathspec(self) -> bool:
        return self.alias is not None and self.alias.kind == "pathspec"

    def __str__(self) -> str:
        return str(self.alias) if self.alias is not None else self.text


def parse_ref(text: str, kind: Optional[str] = None) -> EnvRef:
    """`kind` forces "pathspec" (as for --using-pathspec) or "generic"."""
    raw = (text or "").strip()
    parts = raw.split(":")
    if kind is None and len(parts) in (2, 3) and is_hex_id(parts[0]) and is_hex_id(parts[1]):
        arch = parts[2] if len(parts) == 3 else None
        if arch is not None and arch not in CONDA_PLATFORMS:
            raise SpecError("Unknown architecture '%s' in '%s': use one of %s."
                            % (arch, raw, ", ".join(CONDA_PLATFORMS)))
        return EnvRef(raw, req_id=parts[0], full_id=parts[1], arch=arch)
    return EnvRef(raw, alias=parse_alias(raw, kind))


def find(envs: Environments, ref: EnvRef, arch: Optional[str] = None) -> ResolvedEnvironment:
    """The environment `ref` names; `arch`, when given, must be its architecture."""
    if ref.alias is not None:
        try:
            return envs.lookup(ref.text, arch=arch, kind=ref.alias.kind)
        except UnknownEnvironment as err:
            raise UnknownEnvironment("%s Check the name (`metaflow environment list` shows the aliases known here)."
                            % str(err).rstrip()) from None
    if ref.arch and arch and ref.arch != arch:
        raise SpecError("'%s' names an environment for %s, but --arch says %s: drop one of them."
                        % (ref.text, ref.arch, arch))
    wanted = ref.arch or arch
    if wanted is None:
        wanted = _known_arch(envs, ref) or host_platform()
    try:
        return envs.get(EnvID(ref.req_id, ref.full_id, wanted))
    except UnknownEnvironment:  # a corrupt lock or a failing datastore says so itself
        raise UnknownEnvironment("Unknown environment %s:%s for %s: check the ids (`metaflow environment list`)%s."
                       % (ref.req_id, ref.full_id, wanted,
                          "" if ref.arch or arch else " or give its architecture with --arch")) from None


def _known_arch(envs: Environments, ref: EnvRef) -> Optional[str]:
    """The architecture the local index knows this id for (the host's first)."""
    archs = [e.env_id.arch for e in envs.index.known()
             if (e.env_id.req_id, e.env_id.full_id) == (ref.req_id, ref.full_id)]
    if host_platform() in archs:
        return host_platform()
    return archs[0] if archs else None


def label(env: ResolvedEnvironment) -> str:
    return "%s:%s (%s)" % (env.req_id, env.full_id, env.arch)
