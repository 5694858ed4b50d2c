"""`Runner(flow_file, environment="conda").environment()`: the flow-level `environment resolve`
and `show` commands (flow_cli.py) for `metaflow.Runner` users, registered through Metaflow's
RUNNER_CLIS_DESC. Each call runs the command in a subprocess, as Runner.run does, and returns
its JSON documents: one per step (per arch), as `show --json` prints them."""
import contextlib
import json
import subprocess
import sys
from typing import Any, Dict, List, Sequence


class EnvironmentRunner:
    name = "environment"

    def __init__(self, runner: Any) -> None:
        self._runner = runner

    def resolve(self, *steps: str, force: bool = False, dry_run: bool = False, arch: Sequence[str] = (),
                alias: Sequence[str] = ()) -> List[Dict[str, Any]]:
        """Resolve (or reuse) the environments of `steps` (default: all), as `python flow.py
        environment resolve` does with the same options."""
        return self._documents("resolve", steps, force=force, dry_run=dry_run, archs=list(arch),
                               aliases=list(alias))

    def show(self, *steps: str) -> List[Dict[str, Any]]:
        """The environment each of `steps` (default: all) runs in, as `environment show --json`."""
        return self._documents("show", steps)

    def _documents(self, command: str, steps: Sequence[str], **options: Any) -> List[Dict[str, Any]]:
        from metaflow.metaflow_config import CLICK_API_PROCESS_CONFIG
        from metaflow.runner.utils import with_dir

        from ..errors import EnvError

        runner = self._runner
        # These commands need our environment: the one the Runner was given, else conda.
        top = dict({"environment": "conda"}, **runner.top_level_kwargs)
        # As Runner.run: the flow's configs are read from its directory when Metaflow says so.
        with with_dir(runner.cwd) if CLICK_API_PROCESS_CONFIG else contextlib.nullcontext():
            args = getattr(runner.api(**top).environment(), command)(steps=list(steps), as_json=True, **options)
        proc = subprocess.run([sys.executable, *args], cwd=runner.cwd, env=runner.env_vars,
                              capture_output=True, text=True)
        if proc.returncode != 0:
            lines = [line for line in proc.stderr.splitlines() if line.strip()]
            raise EnvError(lines[-1] if lines else "`%s` failed with status %d." % (" ".join(args), proc.returncode))
        return json.loads(proc.stdout)
