"""`metaflow environment create`: hydrate an environment into a local prefix, with a
progress bar following the downloads."""
from pathlib import Path
from typing import List, Optional

from ..environments import Environments
from ..hydrate.install import plan, python_in
from ..lock import ResolvedEnvironment
from .progress import Progress


def create(envs: Environments, env: ResolvedEnvironment, prefix: Optional[Path], force: bool,
           progress: Progress) -> Path:
    """Create `env` at `prefix` (its own prefix when None); returns the prefix."""
    target = Path(prefix) if prefix else envs.prefix_for(env)
    steps = plan(env, target, envs.cache)
    if steps.already_complete and not force:
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
        return envs.create(env, target, force=force)


def field(label: str, value: object) -> str:
    return "  %-21s%s" % (label, value)


def usage(prefix: Path) -> List[str]:
    python = python_in(prefix)
    return [field("Run Python in it:", python), field("Put it on PATH:", "export PATH=%s:$PATH" % python.parent)]
