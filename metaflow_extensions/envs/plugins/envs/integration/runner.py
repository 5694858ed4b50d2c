"""`Runner(flow_file, environment="conda").environment()`: the flow-level `environment resolve`
and `show` commands (flow_cli.py) for `metaflow.Runner` users, registered through Metaflow's
RUNNER_CLIS_DESC. As in the reference extension, each call runs the command in a subprocess
with `--output FILE` (step_results.py: the reference's shape), and returns typed results:

- `resolve(*steps, ...)` -> {step: {arch: (EnvironmentInfo, newly_resolved)}}
- `show(*steps, ...)` -> {step: StepEnvInfo}
"""
import contextlib
import json
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

from ..errors import EnvError
from ..ids import EnvID


class RunnerCommandError(EnvError, RuntimeError):
    """The command failed or did not finish in time (a RuntimeError, as the reference's)."""


@dataclass(frozen=True)
class Package:
    """One package of an environment's lock."""
    name: str
    version: str
    kind: str  # conda | pypi


@dataclass(frozen=True)
class EnvironmentInfo:
    """A resolved environment: its ids, type, Python, aliases (known locally) and packages.
    `document` is the whole `show --json` document."""
    env_id: EnvID
    env_type: str  # conda-only | pypi-only | mixed
    python: Optional[str]
    aliases: Tuple[str, ...]
    packages: Tuple[Package, ...]
    resolved_by: str = ""
    resolved_at: float = 0.0
    document: Dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def from_document(cls, doc: Dict[str, Any]) -> "EnvironmentInfo":
        return cls(env_id=EnvID.from_dict(doc["env_id"]), env_type=doc["type"], python=doc.get("python"),
                   aliases=tuple(doc.get("aliases") or ()),
                   packages=tuple(Package(p["name"], p["version"], p["kind"]) for p in doc.get("packages") or ()),
                   resolved_by=doc.get("resolved_by") or "", resolved_at=doc.get("resolved_at") or 0.0,
                   document=doc)


@dataclass(frozen=True)
class StepEnvInfo:
    """What a step asks for and, when it has one, its environment (the reference's fields,
    plus `newly_resolved`: resolved by this call rather than known already)."""
    is_disabled: bool
    error: Optional[str] = None
    requested_hash: Optional[str] = None
    requested_packages: Dict[str, Dict[str, str]] = field(default_factory=dict)
    requested_sources: Dict[str, List[str]] = field(default_factory=dict)
    from_env_name: Optional[str] = None
    is_fetch_at_exec: bool = False
    env: Optional[EnvironmentInfo] = None
    newly_resolved: bool = False

    @classmethod
    def from_dict(cls, data: Dict[str, Any]) -> "StepEnvInfo":
        return cls(is_disabled=data["is_disabled"], error=data.get("error"),
                   requested_hash=data.get("requested_hash"),
                   requested_packages=data.get("requested_packages") or {},
                   requested_sources=data.get("requested_sources") or {},
                   from_env_name=data.get("from_env_name"), is_fetch_at_exec=bool(data.get("is_fetch_at_exec")),
                   env=EnvironmentInfo.from_document(data["env"]) if data.get("env") else None,
                   newly_resolved=bool(data.get("newly_resolved")))


class EnvironmentRunner:
    name = "environment"

    def __init__(self, runner: Any) -> None:
        self._runner = runner

    def resolve(self, *steps: str, arch: Optional[Union[str, Sequence[str]]] = None,
                alias: Optional[Sequence[str]] = None, force: bool = False, dry_run: bool = False,
                local_only: bool = False, timeout: float = 1200) -> Dict[str, Dict[str, Tuple[EnvironmentInfo, bool]]]:
        """Resolve (or reuse) the environments of `steps` (default: all), as `python flow.py
        environment resolve` does with the same options. Returns {step: {arch: (environment,
        newly_resolved)}}; steps without an environment (disabled, fetch-at-exec) are absent.
        `timeout` (seconds) caps the whole call."""
        archs = [arch] if isinstance(arch, str) else list(arch or ())
        content = self._run("resolve", steps, timeout, force=force, dry_run=dry_run, archs=archs,
                            aliases=list(alias or ()), local_only=local_only)
        return {step: {a: (EnvironmentInfo.from_document(v["env"]), bool(v["newly_resolved"]))
                       for a, v in per_arch.items()}
                for step, per_arch in content.items()}

    def show(self, *steps: str, local_only: bool = False, timeout: float = 1200) -> Dict[str, StepEnvInfo]:
        """What each of `steps` (default: all) asks for and the environment it runs in, as
        `environment show` (which resolves what is not known yet, as `run` would)."""
        content = self._run("show", steps, timeout, local_only=local_only)
        return {step: StepEnvInfo.from_dict(info) for step, info in content.items()}

    def _run(self, command: str, steps: Sequence[str], timeout: float, **options: Any) -> Dict[str, Any]:
        from metaflow.metaflow_config import CLICK_API_PROCESS_CONFIG
        from metaflow.runner.utils import with_dir

        from ..errors import SpecError

        if not (isinstance(timeout, (int, float)) and timeout > 0):
            raise SpecError("timeout must be a number of seconds > 0, not %r." % (timeout,))
        runner = self._runner
        # These commands need our environment: the one the Runner was given, else conda.
        top = dict({"environment": "conda"}, **runner.top_level_kwargs)
        with tempfile.TemporaryDirectory(prefix="mfenvs-runner-") as tmp:
            output = str(Path(tmp) / "result.json")
            # As Runner.run: the flow's configs are read from its directory when Metaflow says so.
            with with_dir(runner.cwd) if CLICK_API_PROCESS_CONFIG else contextlib.nullcontext():
                args = getattr(runner.api(**top).environment(), command)(steps=list(steps), output=output,
                                                                        **options)
            try:
                proc = subprocess.run([sys.executable, *args], cwd=runner.cwd, env=runner.env_vars,
                                      capture_output=True, text=True, timeout=timeout)
            except subprocess.TimeoutExpired:
                raise RunnerCommandError("`environment %s` did not finish within %s seconds (timeout): give it "
                                         "more time, e.g. timeout=%d." % (command, timeout, max(1200, timeout * 4))
                                         ) from None
            if proc.returncode != 0:
                lines = [line for line in proc.stderr.splitlines() if line.strip()]
                raise RunnerCommandError(lines[-1] if lines else "`%s` failed with status %d." % (
                    " ".join(args), proc.returncode))
            return json.loads(Path(output).read_text(encoding="utf-8"))
