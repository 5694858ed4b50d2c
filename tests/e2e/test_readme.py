"""The README's examples run as written: its headline flow (Conda packages from the local test
channel, `rich` from PyPI; the README says it needs a Conda channel) and its library quick
start (PyPI and this machine's Python only)."""
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cli.conftest import base_env

README = Path(__file__).resolve().parents[2] / "README.md"


def readme_flow() -> str:
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), re.S)
    flows = [b for b in blocks if "FlowSpec" in b and "__main__" in b]
    assert flows, "the README has no complete flow"
    return flows[0]


def test_the_readme_flow_runs_as_written(flows, tmp_path):
    script = tmp_path / "train.py"
    script.write_text(readme_flow())
    result = flows.run(str(script)).check()
    assert "start: pandas 2.2.3 scikit-learn 1.5.2" in result.output
    assert "end: pandas 2.2.3" in result.output


@pytest.mark.network  # tabulate from pypi.org, as for the README's reader
def test_the_library_quick_start_runs_as_written_without_a_conda_channel(tmp_path):
    text = README.read_text()
    section = text[text.index("## Quick start (library)"):]
    shell = re.search(r"```bash\n(.*?)```", section, re.S).group(1)
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    env = base_env("http://127.0.0.1:9", tmp_path, tmp_path / "cache")  # a closed port: no Conda channel
    # The shell lines, then the Python, in one shell: the `export` holds for the Python.
    (tmp_path / "quick_start.py").write_text(code)
    proc = subprocess.run(["bash", "-c", shell + '"$PYTHON" quick_start.py'], cwd=str(tmp_path),
                          env=dict(env, PYTHON=sys.executable), capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    python = proc.stdout.strip().splitlines()[-1]
    assert python.startswith(str(tmp_path / "cache" / "envs"))
    version = subprocess.run([python, "-c", "import tabulate; print(tabulate.__version__)"], capture_output=True,
                             text=True, check=True).stdout.strip()
    assert version == "0.9.0"
