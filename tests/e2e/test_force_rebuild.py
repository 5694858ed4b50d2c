"""A second run reuses the environment; --force-rebuild-environments resolves again, given
where people write it: after `run`, with the run's other options (Metaflow itself takes it
only before the command)."""
import os
import subprocess
import sys
from pathlib import Path

FLOW = Path(__file__).with_name("flows") / "retry_flow.py"


def _run(tmp_path, *run_options):
    env = dict(os.environ, USERNAME="tester", METAFLOW_HOME=str(tmp_path),
               METAFLOW_DATASTORE_SYSROOT_LOCAL=str(tmp_path), METAFLOW_CONDA_PYTHON_SOURCE="system",
               METAFLOW_CONDA_CACHE_DIR=str(tmp_path / "cache"))
    out = subprocess.run([sys.executable, str(FLOW), "--no-pylint", "--environment=pypi", "run", *run_options],
                         cwd=str(tmp_path), env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stdout + out.stderr
    return next(l for l in (out.stdout + out.stderr).splitlines() if "start: pypi-only environment" in l)


def test_reuse_then_force(tmp_path):
    first = _run(tmp_path)
    assert "resolved in" in first
    again = _run(tmp_path)
    assert again.endswith("reused") and again.split()[3] == first.split()[3]  # same full_id
    forced = _run(tmp_path, "--force-rebuild-environments")
    assert "resolved in" in forced
