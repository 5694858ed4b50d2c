"""`Runner(flow_file, environment="conda").environment()`: the flow-level `environment resolve`
and `show` commands (flow_cli.py) for `metaflow.Runner` users, registered through Metaflow's
RUNNER_CLIS_DESC. Each call runs the command in a subprocess, as Runner.run does, and returns
typed results: a FlowEnvironments holding a StepEnvironment per step (per arch), built from
the JSON documents `environment show --json` prints."""
import contextlib
import json
import subprocess
import sys
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Sequence, Tuple

from ..ids import EnvID


@dataclass(frozen=True)
class Package:
    """One package of an environment's lock."""
    name: str
    version: str
    kind: str  # conda | pypi


@dataclass(frozen=True)
class StepEnvironment:
    """The environment a step runs in (for one arch), or why it has none here.

    `state` is "resolved" (by this call) or "reused" (known already) when `env_id` is set;
    otherwise "disabled" (no environment: the flow's own Python), "fetch-at-exec" (looked up
    when the task starts) or "unresolved"; `note` then says which. `document` is the whole
    JSON document (`show --json`'s) for anything else it holds."""
    step: str
    state: str
    env_id: Optional[EnvID] = None
    env_type: Optional[str] = None  # conda-only | pypi-only | mixed
    python: Optional[str] = None
    aliases: Tuple[str, ...] = ()
    packages: Tuple[Package, ...] = ()
    note: str = ""
    document: Dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def resolved(self) -> bool:
        """Resolved by this call (not known before)."""
        return self.state == "resolved"

    @property
    def reused(self) -> bool:
        return self.state == "reused"

    @classmethod
    def from_document(cls, doc: Dict[str, Any]) -> "StepEnvironment":
        env_id = doc.get("env_id")
        return cls(
            step=doc["step"], state=doc["state"],
            env_id=EnvID.from_dict(env_id) if env_id else None,
            env_type=doc.get("type"), python=doc.get("python"),
            aliases=tuple(doc.get("aliases") or ()),
            packages=tuple(Package(p["name"], p["version"], p["kind"]) for p in doc.get("packages") or ()),
            note=doc.get("note", ""), document=doc)


@dataclass(frozen=True)
class FlowEnvironments:
    """What `resolve` / `show` found for the steps asked for, in step order."""
    environments: Tuple[StepEnvironment, ...]

    def __iter__(self):
        return iter(self.environments)

    def __len__(self) -> int:
        return len(self.environments)

    def for_step(self, step: str) -> List[StepEnvironment]:
        """The environments of `step` (one per arch; none for a step not asked for)."""
        return [e for e in self.environments if e.step == step]

    @property
    def resolved(self) -> List[StepEnvironment]:
        return [e for e in self.environments if e.resolved]

    @property
    def reused(self) -> List[StepEnvironment]:
        return [e for e in self.environments if e.reused]


class EnvironmentRunner:
    name = "environment"

    def __init__(self, runner: Any) -> None:
        self._runner = runner

    def resolve(self, *steps: str, force: bool = False, dry_run: bool = False, arch: Sequence[str] = (),
                alias: Sequence[str] = (), local_only: bool = False,
                timeout: Optional[float] = None) -> FlowEnvironments:
        """Resolve (or reuse) the environments of `steps` (default: all), as `python flow.py
        environment resolve` does with the same options; `timeout` (seconds) stops waiting
        for the command, and fails, after that long."""
        return self._environments("resolve", steps, timeout, force=force, dry_run=dry_run, archs=list(arch),
                                  aliases=list(alias), local_only=local_only)

    def show(self, *steps: str, local_only: bool = False, timeout: Optional[float] = None) -> FlowEnvironments:
        """The environment each of `steps` (default: all) runs in, as `environment show`."""
        return self._environments("show", steps, timeout, local_only=local_only)

    def _environments(self, command: str, steps: Sequence[str], timeout: Optional[float],
                      **options: Any) -> FlowEnvironments:
        from metaflow.metaflow_config import CLICK_API_PROCESS_CONFIG
        from metaflow.runner.utils import with_dir

        from ..errors import EnvError, SpecError

        if timeout is not None and not timeout > 0:
            raise SpecError("timeout must be a number of seconds > 0, not %r." % (timeout,))
        runner = self._runner
        # These commands need our environment: the one the Runner was given, else conda.
        top = dict({"environment": "conda"}, **runner.top_level_kwargs)
        # As Runner.run: the flow's configs are read from its directory when Metaflow says so.
        with with_dir(runner.cwd) if CLICK_API_PROCESS_CONFIG else contextlib.nullcontext():
            args = getattr(runner.api(**top).environment(), command)(steps=list(steps), as_json=True, **options)
        try:
            proc = subprocess.run([sys.executable, *args], cwd=runner.cwd, env=runner.env_vars,
                                  capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            raise EnvError("`environment %s` did not finish within %s seconds (timeout): give it more time, "
                           "e.g. timeout=%d." % (command, timeout, max(600, int(timeout) * 4))) from None
        if proc.returncode != 0:
            lines = [line for line in proc.stderr.splitlines() if line.strip()]
            raise EnvError(lines[-1] if lines else "`%s` failed with status %d." % (" ".join(args), proc.returncode))
        return FlowEnvironments(tuple(StepEnvironment.from_document(d) for d in json.loads(proc.stdout)))
