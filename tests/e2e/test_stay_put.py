"""A flow run again with a changed @pypi keeps the versions its step had (the index has newer
ones by then); METAFLOW_CONDA_UPGRADE lets the named packages move."""
import os
import re
import subprocess
import sys

from tests.fixtures.growing import growing_pypi_index

FLOW = '''
from metaflow import FlowSpec, pypi, step


class StayFlow(FlowSpec):
    @pypi(packages=%r, extra_indices=[%r])
    @step
    def start(self):
        from importlib.metadata import version

        print("VERSIONS " + " ".join("%%s=%%s" %% (n, version(n)) for n in sorted(%r) + ["mfenvs-pdep"]))
        self.next(self.end)

    @step
    def end(self):
        pass


if __name__ == "__main__":
    StayFlow()
'''


def _run(tmp_path, index, packages, **settings):
    flow = tmp_path / "stay_flow.py"
    flow.write_text(FLOW % ({p: "" for p in packages}, index.url + "/simple", list(packages)))
    env = dict(os.environ, USERNAME="tester", METAFLOW_HOME=str(tmp_path), METAFLOW_DATASTORE_SYSROOT_LOCAL=str(tmp_path),
               METAFLOW_CONDA_PYTHON_SOURCE="system", METAFLOW_CONDA_CACHE_DIR=str(tmp_path / "cache"),
               METAFLOW_CONDA_PYPI_INDEX_MAX_AGE="0", **settings)
    out = subprocess.run([sys.executable, str(flow), "--no-pylint", "--environment=pypi", "run"],
                         cwd=str(tmp_path), env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stdout + out.stderr
    return dict(re.findall(r"(mfenvs-\w+)=(\S+)", re.search(r"VERSIONS (.*)", out.stdout + out.stderr).group(1)))


def test_changed_step_request_keeps_its_pins(tmp_path):
    with growing_pypi_index(tmp_path / "pypi") as index:
        assert _run(tmp_path, index, ["mfenvs-pa", "mfenvs-pb"]) == {
            "mfenvs-pa": "1.0", "mfenvs-pb": "1.0", "mfenvs-pdep": "1.0"}
        index.grow()
        assert _run(tmp_path, index, ["mfenvs-pa", "mfenvs-pb", "mfenvs-pc"]) == {
            "mfenvs-pa": "1.0", "mfenvs-pb": "1.0", "mfenvs-pc": "1.0", "mfenvs-pdep": "1.0"}
        assert _run(tmp_path, index, ["mfenvs-pa", "mfenvs-pb", "mfenvs-pc"], METAFLOW_CONDA_UPGRADE="mfenvs-pb") == {
            "mfenvs-pa": "1.0", "mfenvs-pb": "1.1", "mfenvs-pc": "1.0", "mfenvs-pdep": "1.0"}
