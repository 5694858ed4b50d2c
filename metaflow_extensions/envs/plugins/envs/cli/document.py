"""The JSON document of an environment, printed by `show --json` and `resolve --json`.

One object per environment: `env_id` {req_id, full_id, arch}, `type` (conda-only |
pypi-only | mixed), `python`, `packages` [{name, version, kind, url, sha256, ...}], `aliases`
(those the local index knows), plus `python_source`, `resolved_at` (epoch seconds),
`resolved_by`, `requested` (the request: conda/pypi requirements, channels, PyPI sources,
python), `is_default` and `local_prefixes`.
"""
import json
from typing import Any, Dict, Iterable, List

from ..environments import Environments
from ..lock import ResolvedEnvironment
from ..ids import EnvID
from .prefixes import present_as


def env_document(envs: Environments, env: ResolvedEnvironment) -> Dict[str, Any]:
    env_id = EnvID.of(env)
    base = env.to_dict()
    return {
        "env_id": base["env_id"],
        "type": base["type"],
        "python": base["python"],
        "python_source": base["python_source"],
        "resolved_at": base["resolved_at"],
        "resolved_by": base["resolved_by"],
        "requested": base["spec"],
        "packages": base["packages"],
        "aliases": envs.index.aliases_of(env_id),
        "is_default": envs.index.default(env.arch, env.req_id) == env_id,
        "local_prefixes": present_as(env),
    }


def documents(envs: Environments, items: Iterable[ResolvedEnvironment]) -> List[Dict[str, Any]]:
    return [env_document(envs, env) for env in items]


def dumps(value: Any) -> str:
    return json.dumps(value, indent=2)
