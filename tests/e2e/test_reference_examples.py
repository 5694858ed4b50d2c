"""The reference extension's examples 01-06 (rewritten in tests/data/reference_examples, see
its README) run for real: each flow with `python flow.py --environment=conda run`, the
environments of 04-06 first resolved and named with `metaflow environment resolve`, as the
examples' READMEs say (without their `--environment=conda` before `environment`: Metaflow's
own `metaflow` command takes no option there).

Conda packages come from the local test channel, PyPI packages from the local index of the
examples' packages: no network. The examples pin Python 3.9 and 3.10; this machine only has
3.11, so the channel's python 3.9.19 and 3.10.14 are stand-ins running the host interpreter
(tests/fixtures/channel.py): what is checked is that the pins are resolved as written and the
flows' own assertions hold in their environments.
"""
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parent.parent / "data" / "reference_examples"
_SCRIPT = Path(sys.executable).with_name("metaflow")
METAFLOW = [str(_SCRIPT)] if _SCRIPT.exists() else [sys.executable, "-m", "metaflow.cmd.main_cli"]


@pytest.fixture
def example(flows, tmp_path, reference_index_url):
    """Copies an example into the test's dir and runs its commands there (never in the tree)."""

    class Example:
        env = {"METAFLOW_CONDA_DEFAULT_PYPI_SOURCE": reference_index_url}

        def __init__(self) -> None:
            self.dir = None

        def use(self, name: str) -> "Example":
            self.dir = tmp_path / name
            shutil.copytree(EXAMPLES / name, self.dir)
            return self

        def resolve(self, *args: str) -> str:
            cmd = METAFLOW + ["environment", "resolve", *args]
            proc = subprocess.run(cmd, cwd=str(self.dir), env=dict(flows.env, **self.env), capture_output=True,
                                  text=True, timeout=300)
            assert proc.returncode == 0, proc.stdout + proc.stderr
            return proc.stdout + proc.stderr

        def run(self) -> str:
            result = flows.run(str(self.dir / "flow.py"), env=self.env).check()
            assert "Traceback" not in result.output, result.output
            return " ".join(result.output.split())

    return Example()


def test_01_basic_conda(example):
    out = example.use("01_basic_conda").run()
    assert "(Python 3.9.19," in out  # the stand-in: python=">=3.9,<3.10" resolved as written
    assert "start has pandas 1.4.0" in out and "end has pandas 1.5.0" in out


def test_02_pypi(example):
    out = example.use("02_pypi").run()
    assert "start: pypi-only environment" in out and "(Python 3.9.19," in out
    assert "start has pandas 1.4.0" in out and "end has pandas 1.5.0" in out


def test_03_mixed_conda_pypi(example):
    out = example.use("03_mixed_conda_pypi").run()
    assert "(Python 3.10.14," in out and "pypi_step: mixed environment" in out
    assert "start has numpy 1.26.4 from @conda_base" in out
    assert "conda_step has numpy 1.26.4 and scipy 1.11.4" in out
    assert "pypi_step has requests 2.31.0" in out
    assert "finished" in out


def test_04_from_yml_file(example):
    example.use("04_from_yml_file").resolve("--alias", "examples/yml_demo", "-f", "environment.yml")
    out = example.run()
    assert "start has pandas 2.0.3 and requests 2.31.0" in out


def test_05_from_requirements_txt(example):
    resolved = example.use("05_from_requirements_txt").resolve(
        "--python", ">=3.10,<3.11", "--alias", "examples/req_demo", "-r", "requirements.txt")
    assert "openssl" in resolved and "3.10.14" in resolved, resolved
    out = example.run()
    assert "start has requests 2.31.0 and pandas 2.0.3" in out


def test_06_named_environment(example):
    example.use("06_named_environment").resolve("--alias", "examples/named_demo", "-f", "env.yml")
    out = example.run()
    assert "start has numpy 1.24.4" in out and "end has numpy 1.24.4" in out
