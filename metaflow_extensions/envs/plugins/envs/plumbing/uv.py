"""Running the uv binary (shipped by the `uv` PyPI package) with a controlled environment."""
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence

from ..auth import Credentials
from ..errors import EnvError
from ..layout import CACHE_UV
from .. import settings
from .signals import check_stopped, child


def uv_binary() -> str:
    explicit = os.environ.get("METAFLOW_ENVS_UV")  # set by the remote bootstrap
    if explicit:
        return explicit
    try:
        from uv import find_uv_bin

        return find_uv_bin()
    except Exception:
        candidate = Path(sys.executable).parent / "uv"
        if candidate.exists():
            return str(candidate)
        raise EnvError("The `uv` package is missing: `pip install uv` (metaflow-envs needs it).")


def uv_env(extra: Optional[Dict[str, str]] = None) -> Dict[str, str]:
    """The environment every uv call gets: no Python downloads, no user uv.toml, our cache."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("UV_", "VIRTUAL_ENV", "CONDA_PREFIX"))}
    env.update(
        {
            "UV_PYTHON_DOWNLOADS": "never",
            "UV_NO_CONFIG": "1",
            "UV_CACHE_DIR": str(settings.cache_dir(CACHE_UV)),
            "UV_NO_PROGRESS": "1",
        }
    )
    if settings.value("CONDA_PYPI_KEYRING_PROVIDER") == "subprocess":
        # uv asks the `keyring` command itself only for URLs that name a user (uv 0.13 skips
        # the others); the indexes we name get Credentials' answer, through per-index variables.
        env["UV_KEYRING_PROVIDER"] = "subprocess"
    env.update(extra or {})
    return env


def run_uv(
    args: Sequence[str],
    credentials: Credentials,
    error_class: type,
    what: str,
    env: Optional[Dict[str, str]] = None,
    cwd: Optional[str] = None,
    waiting: Optional[Callable[[float], None]] = None,
    every: float = 60.0,
) -> subprocess.CompletedProcess:
    """Run `uv ARGS`; on failure raise `error_class` with uv's own explanation, redacted.
    `waiting`, when given, is called with the seconds elapsed every `every` seconds uv runs.
    A stopping signal (plumbing/signals.py) kills it and raises Terminated."""
    with subprocess.Popen(
        [uv_binary(), *args],
        env=uv_env(env),
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as popen, child(popen):
        started = time.monotonic()
        while True:
            try:  # a timed-out communicate() loses no output: it is simply called again
                stdout, stderr = popen.communicate(timeout=every if waiting else None)
                break
            except subprocess.TimeoutExpired:
                waiting(time.monotonic() - started)  # type: ignore[misc]
    check_stopped()  # killed by us: its failure is not uv's to explain
    proc = subprocess.CompletedProcess(popen.args, popen.returncode, stdout, stderr)
    if proc.returncode != 0:
        raise error_class("%s:\n%s" % (what, _explain(proc.stderr or proc.stdout, credentials)))
    return proc


def _explain(output: str, credentials: Credentials) -> str:
    lines: List[str] = []
    for line in credentials.redact(output).splitlines():
        stripped = line.rstrip()
        if not stripped or stripped.startswith(("Resolved ", "Using ", "Building ", "Built ")):
            continue
        lines.append(stripped)
    return "\n".join(lines[-25:]) or "(uv gave no details)"
