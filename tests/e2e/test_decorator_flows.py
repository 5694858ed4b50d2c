"""The decorator rules through real flow files and Metaflow's own CLI (`check`)."""
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

FLOWS = Path(__file__).with_name("flows")


def _check(path, tmp_path, *options, command="check"):
    env = dict(os.environ, METAFLOW_HOME=str(tmp_path), USERNAME="tester",
               METAFLOW_DATASTORE_SYSROOT_LOCAL=str(tmp_path))
    return subprocess.run([sys.executable, str(path), "--no-pylint", *options, command], cwd=str(tmp_path),
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


_MISSPELT_FLOW = '''from metaflow import FlowSpec, step, {deco}

{flow_deco}
class MisspeltFlow(FlowSpec):
    {step_deco}
    @step
    def start(self):
        self.next(self.end)

    @step
    def end(self):
        pass


if __name__ == "__main__":
    MisspeltFlow()
'''


@pytest.mark.parametrize("deco, given, meant", [
    ("conda", "librarys", "libraries"), ("conda_base", "chanels", "channels"),
    ("pypi", "pakages", "packages"), ("pypi_base", "extra_indexes", "extra_indices"),
    ("pip", "packges", "packages"), ("pip_base", "pyhton", "python"),
    ("named_env", "nmae", "name"), ("named_env_base", "pathspc", "pathspec"),
    ("sys_packages", "pakages", "packages"), ("sys_packages_base", "packges", "packages"),
])
def test_a_misspelt_attribute_is_one_line_with_a_did_you_mean(deco, given, meant, tmp_path):
    """Metaflow checks attributes while the flow file is imported (a traceback); ours are
    reported when the run starts, by the real `run` command."""
    line = "@%s(%s=None)" % (deco, given)
    flow = tmp_path / "misspelt_flow.py"
    flow.write_text(_MISSPELT_FLOW.format(deco=deco, flow_deco=line if deco.endswith("_base") else "",
                                          step_deco="" if deco.endswith("_base") else line))
    out = _check(flow, tmp_path, "--environment=conda", command="run")
    output = " ".join((out.stdout + out.stderr).split())
    assert out.returncode != 0 and "Traceback" not in output, output
    where = "@%s" % deco if deco.endswith("_base") else "@%s on step 'start'" % deco
    assert "%s: unknown attribute '%s' (did you mean '%s'?)" % (where, given, meant) in output, output
    assert not (tmp_path / ".metaflow" / "MisspeltFlow").exists()  # no run started
