"""`metaflow environment list`: the environments and aliases the local index knows."""
import time
from typing import Any, Dict, List, Optional

from ..environments import Environments
from ..errors import EnvError
from ..ids import EnvID
from .prefixes import present_as


def known(envs: Environments, arch: Optional[str] = None) -> Dict[str, Any]:
    aliases: Dict[str, Dict[str, str]] = {}
    by_env: Dict[EnvID, List[str]] = {}
    for name, env_id in envs.index.aliases().items():
        if arch and env_id.arch != arch:
            continue
        aliases[name] = env_id.to_dict()
        by_env.setdefault(env_id, []).append(name)
    environments = []
    for entry in envs.index.known():
        env_id = entry.env_id
        if arch and env_id.arch != arch:
            continue
        item: Dict[str, Any] = {"env_id": env_id.to_dict(), "resolved_at": entry.resolved_at,
                                "is_default": entry.is_default, "aliases": by_env.get(env_id, [])}
        try:
            env = envs.index.load(env_id)
        except EnvError:
            env = None
        if env is not None:
            item.update(type=env.env_type, python=env.python_version, packages=len(env.packages),
                        resolved_by=env.resolved_by, local_prefixes=present_as(env))
        environments.append(item)
    return {"environments": environments, "aliases": aliases}


def render(listing: Dict[str, Any]) -> str:
    lines = []
    envs = listing["environments"]
    if not envs:
        return "No environments known on this machine (resolve one with `metaflow environment resolve`)."
    lines.append("Environments (%d):" % len(envs))
    for item in envs:
        env_id = item["env_id"]
        flags = [f for f, on in (("default", item["is_default"]), ("created", item.get("local_prefixes"))) if on]
        lines.append("  %s:%s  %s" % (env_id["req_id"], env_id["full_id"], env_id["arch"]))
        lines.append("      %s, Python %s, %s packages, resolved %s by %s%s" % (
            item.get("type", "?"), item.get("python", "?"), item.get("packages", "?"),
            time.strftime("%Y-%m-%d %H:%M", time.gmtime(item["resolved_at"] or 0)),
            item.get("resolved_by", "?"), (" [%s]" % ", ".join(flags)) if flags else ""))
        if item["aliases"]:
            lines.append("      aliases: %s" % ", ".join(item["aliases"]))
    if listing["aliases"]:
        lines.append("Aliases (%d):" % len(listing["aliases"]))
        width = max(len(a) for a in listing["aliases"])
        for name, env_id in listing["aliases"].items():
            lines.append("  %-*s  -> %s:%s (%s)" % (width, name, env_id["req_id"][:12], env_id["full_id"][:12],
                                                  env_id["arch"]))
    return "\n".join(lines)
