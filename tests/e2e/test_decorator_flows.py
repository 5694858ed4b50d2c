"""The decorator rules through real flow files and Metaflow's own CLI (`check`)."""
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

FLOWS = Path(__file__).with_name("flows")


def _check(path, tmp_path, *options):
    env = dict(os.environ, METAFLOW_HOME=str(tmp_path), USERNAME="tester",
               METAFLOW_DATASTORE_SYSROOT_LOCAL=str(tmp_path))
    return subprocess.run([sys.executable, str(path), "--no-pylint", *options, "check"], cwd=str(tmp_path),
                          env=env, capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("path", sorted(FLOWS.glob("decorator_*.py")), ids=lambda p: p.stem)
def test_flow_files(path, tmp_path):
    """Each file says what `python flow.py check` must do: `# expect: ok` or
    `# expect-error: <text in the message>`."""
    expect = re.search(r"^# expect(?:-error)?:.*$", path.read_text(), re.M).group(0)
    out = _check(path, tmp_path, "--environment=conda")
    output = out.stdout + out.stderr
    if expect.startswith("# expect-error:"):
        wanted = expect.split(":", 1)[1].strip()
        assert out.returncode != 0, output
        assert "Invalid environment request" in output and wanted in " ".join(output.split()), output
        assert "Traceback" not in output, output
    else:
        assert out.returncode == 0, output


def test_missing_environment_option_says_what_to_add(tmp_path):
    out = _check(FLOWS / "decorator_merge_ok.py", tmp_path)
    output = " ".join((out.stdout + out.stderr).split())
    assert out.returncode != 0 and "Traceback" not in output
    assert "run the flow with --environment=conda" in output
