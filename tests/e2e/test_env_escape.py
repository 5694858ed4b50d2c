"""Metaflow's environment escape works from inside our environments."""
import os
import subprocess
import sys
from pathlib import Path

FLOW = Path(__file__).with_name("flows") / "escape_flow.py"


def test_env_escape_reaches_the_outer_python(tmp_path):
    env = dict(os.environ, USERNAME="tester", METAFLOW_HOME=str(tmp_path),
               METAFLOW_DATASTORE_SYSROOT_LOCAL=str(tmp_path), METAFLOW_CONDA_PYTHON_SOURCE="system",
               METAFLOW_CONDA_CACHE_DIR=str(tmp_path / "cache"))
    out = subprocess.run([sys.executable, str(FLOW), "--no-pylint", "--environment=pypi", "run"], cwd=str(tmp_path),
                         env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stdout + out.stderr
    line = next(l for l in out.stdout.splitlines() + out.stderr.splitlines() if "ESCAPED" in l)
    escaped, inner = line.split("ESCAPED ", 1)[1].split(" IN ")
    assert escaped == "2"
    assert str(tmp_path / "cache") in inner and inner != sys.executable
