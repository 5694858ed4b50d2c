"""`metaflow environment list`: the environments and aliases the local index knows.

Every step of every local run names its environment (`Flow/run/step`), so run pathspecs
outnumber everything else after a few runs. By default the listing shows the names people
give (`team/env:tag`) and the environments that are not known only through runs; the run
pathspecs come with `--pathspecs` (all of them) or `--flow NAME` (that flow's)."""
import time
from dataclasses import dataclass
from typing import Any, Dict, List, Optional

from ..environments import Environments
from ..errors import CorruptLock, UsageError
from ..ids import ALIAS_GENERIC, ALIAS_PATHSPEC, EnvID, is_flow_name
from .prefixes import present_as


@dataclass
class Listing:
    document: Dict[str, Any]  # {"environments": [...], "aliases": {alias: env_id}}: what --json prints
    hidden_envs: int = 0  # environments known only through run pathspecs, not shown
    hidden_pathspecs: int = 0


def check_flow(name: Optional[str]) -> Optional[str]:
    if name is not None and not is_flow_name(name):
        raise UsageError("Invalid flow name '%s' for --flow: give a flow's class name, e.g. TrainFlow." % name)
    return name


def known(envs: Environments, arch: Optional[str] = None, pathspecs: bool = False,
          flow: Optional[str] = None) -> Listing:
    """What the index knows, for `arch` when given. Default: named aliases and every
    environment not known only through run pathspecs; `pathspecs`: everything; `flow`: that
    flow's run pathspecs and the environments they name."""
    named = {n: e for n, e in envs.index.aliases(ALIAS_GENERIC).items() if not arch or e.arch == arch}
    runs = {n: e for n, e in envs.index.aliases(ALIAS_PATHSPEC).items() if not arch or e.arch == arch}
    if flow:
        runs = {n: e for n, e in runs.items() if n.split("/", 1)[0] == flow}
        shown_aliases = dict(runs)
    else:
        shown_aliases = {**named, **runs} if pathspecs else dict(named)
    by_env: Dict[EnvID, List[str]] = {}
    for name, env_id in sorted({**named, **runs}.items()):
        by_env.setdefault(env_id, []).append(name)
    through_runs, named_ids = set(runs.values()), set(named.values())
    listing = Listing({"environments": [], "aliases": {n: e.to_dict() for n, e in shown_aliases.items()}})
    if not pathspecs and not flow:
        listing.hidden_pathspecs = len(runs)
    for entry in envs.index.known():
        env_id = entry.env_id
        if arch and env_id.arch != arch:
            continue
        if flow and env_id not in through_runs:
            continue
        if not (pathspecs or flow) and env_id in through_runs and env_id not in named_ids:
            listing.hidden_envs += 1
            continue
        listing.document["environments"].append(_item(envs, entry, by_env.get(env_id, [])))
    return listing


def _item(envs: Environments, entry: Any, aliases: List[str]) -> Dict[str, Any]:
    env_id = entry.env_id
    item: Dict[str, Any] = {"env_id": env_id.to_dict(), "resolved_at": entry.resolved_at,
                            "is_default": entry.is_default, "aliases": aliases}
    try:
        env = envs.index.load(env_id)
    except CorruptLock:
        env = None
    if env is not None:
        item.update(type=env.env_type, python=env.python_version, packages=len(env.packages),
                    resolved_by=env.resolved_by, local_prefixes=present_as(env))
    return item


def render(listing: Listing) -> str:
    lines = []
    envs = listing.document["environments"]
    aliases = listing.document["aliases"]
    if not envs:
        lines.append("No environments known on this machine (resolve one with `metaflow environment resolve`)."
                     if not listing.hidden_envs else "No named environments on this machine.")
    else:
        lines.append("Environments (%d):" % len(envs))
    for item in envs:
        env_id = item["env_id"]
        flags = [f for f, on in (("default", item["is_default"]), ("created", item.get("local_prefixes"))) if on]
        lines.append("  %s:%s  %s" % (env_id["req_id"], env_id["full_id"], env_id["arch"]))
        lines.append("      %s, Python %s, %s packages, resolved %s by %s%s" % (
            item.get("type", "?"), item.get("python", "?"), item.get("packages", "?"),
            time.strftime("%Y-%m-%d %H:%M", time.gmtime(item["resolved_at"] or 0)),
            item.get("resolved_by", "?"), (" [%s]" % ", ".join(flags)) if flags else ""))
        shown = [a for a in item["aliases"] if a in aliases]
        unshown = len(item["aliases"]) - len(shown)
        if unshown:
            shown.append("%s%d run step%s" % ("and " if shown else "", unshown, "" if unshown == 1 else "s"))
        if shown:
            lines.append("      aliases: %s" % ", ".join(shown))
    if aliases:
        lines.append("Aliases (%d):" % len(aliases))
        width = max(len(a) for a in aliases)
        for name, env_id in aliases.items():
            lines.append("  %-*s  -> %s:%s (%s)" % (width, name, env_id["req_id"][:12], env_id["full_id"][:12],
                                                  env_id["arch"]))
    if listing.hidden_envs or listing.hidden_pathspecs:
        lines.append("Not shown: %d run pathspec%s (Flow/run/step) and %d environment%s known only through them: "
                     "add --pathspecs, or --flow NAME for one flow's." % (
                         listing.hidden_pathspecs, "" if listing.hidden_pathspecs == 1 else "s",
                         listing.hidden_envs, "" if listing.hidden_envs == 1 else "s"))
    return "\n".join(lines)
