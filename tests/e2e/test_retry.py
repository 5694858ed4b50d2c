"""A retried task runs in its environment again."""
import os
import subprocess
import sys
from pathlib import Path

FLOW = Path(__file__).with_name("flows") / "retry_flow.py"


def test_retry_runs_in_the_environment(tmp_path):
    env = dict(os.environ, USERNAME="tester", METAFLOW_HOME=str(tmp_path),
               METAFLOW_DATASTORE_SYSROOT_LOCAL=str(tmp_path), METAFLOW_CONDA_PYTHON_SOURCE="system",
               METAFLOW_CONDA_CACHE_DIR=str(tmp_path / "cache"))
    out = subprocess.run([sys.executable, str(FLOW), "--no-pylint", "--environment=pypi", "run"], cwd=str(tmp_path),
                         env=env, capture_output=True, text=True, timeout=300)
    output = out.stdout + out.stderr
    assert out.returncode == 0, output
    assert "first attempt fails on purpose" in output
    line = next(l for l in output.splitlines() if "ATTEMPT" in l)
    assert "ATTEMPT 1 IN " + str(tmp_path / "cache") in line and line.endswith("WITH six 1.16.0")
