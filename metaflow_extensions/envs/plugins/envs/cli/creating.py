"""`metaflow environment create`: hydrate an environment into a local prefix by executing its
plan (hydrate/plan.py), with a progress bar following the downloads; `--dry-run` prints the
plan instead."""
from pathlib import Path
from typing import Any, Dict, List, Optional

from ..environments import Environments
from ..hydrate.plan import HydrationPlan
from ..hydrate.prefix import python_in
from ..kinds import PlanSource, PrefixAction
from ..lock import ResolvedEnvironment
from .progress import Progress


def create(envs: Environments, env: ResolvedEnvironment, prefix: Optional[Path], force: bool,
           progress: Progress) -> Path:
    """Create `env` at `prefix` (its own prefix when None); returns the prefix."""
    steps = envs.plan(env, prefix, force)
    target = steps.prefix
    if steps.already_complete:
        progress.note("%s already exists and is complete." % target)
        return target
    missing = steps.to_fetch
    after = "Installing %d packages" % len(env.packages)
    if missing:
        description = "Downloading %d package%s" % (len(missing), "" if len(missing) == 1 else "s")
        if not progress.fancy:  # one plain line covers both
            description = "%s and installing into %s" % (description, target)
    else:
        description = "%s into %s" % (after, target) if not progress.fancy else after
    with progress.task(description, total=len(missing) or None,
                       poll=lambda: sum(1 for p in missing if envs.cache.has(p)), after=after):
        return envs.create(env, target, force=force, planned=steps)


def plan_document(steps: HydrationPlan, env: ResolvedEnvironment) -> Dict[str, Any]:
    """`create --dry-run --json`: the plan, with the environment it is for."""
    return dict(steps.to_dict(), env_id={"req_id": env.req_id, "full_id": env.full_id, "arch": env.arch})


_HEADINGS = {PrefixAction.NOTHING: "Nothing to do at %s: %s.", PrefixAction.CREATE: "Would create %s (%s):",
             PrefixAction.RECREATE: "Would re-create %s (%s):"}
_SOURCES = ((PlanSource.CACHE, "from the local cache"), (PlanSource.STORE, "from the datastore"),
            (PlanSource.ORIGIN, "from their origin"))


def render_plan(steps: HydrationPlan) -> str:
    """`create --dry-run`: per package, where it would come from and why."""
    lines = [_HEADINGS[steps.action] % (steps.prefix, steps.why)]
    if not steps.steps:
        return lines[0]
    rows = [(s.source, s.locked.name, s.locked.version, s.locked.kind, s.reason) for s in steps.steps]
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    lines += ["  " + "  ".join(cell.ljust(w) for cell, w in zip(row, widths + [0])).rstrip() for row in rows]
    counts = ["%d %s" % (sum(1 for s in steps.steps if s.source == source), words) for source, words in _SOURCES]
    lines.append("%d packages: %s." % (len(steps.steps), ", ".join(counts)))
    return "\n".join(lines)


def field(label: str, value: object) -> str:
    return "  %-21s%s" % (label, value)


def usage(prefix: Path) -> List[str]:
    python = python_in(prefix)
    return [field("Run Python in it:", python), field("Put it on PATH:", "export PATH=%s:$PATH" % python.parent)]
