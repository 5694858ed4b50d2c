"""Bad input ends in one clear message naming the culprit; through an entry point, no traceback."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

from metaflow_extensions.envs.plugins.envs.errors import EnvError, ResolveError, SpecError
from metaflow_extensions.envs.plugins.envs.resolve.resolver import resolve_environment
from metaflow_extensions.envs.plugins.envs.spec import parse_file
from metaflow_extensions.envs.plugins.envs.spec.model import CondaDep, EnvSpec, PypiDep

REPO = Path(__file__).resolve().parents[2]


def _spec(conda=(), pypi=(), **kw):
    return EnvSpec(conda_deps=tuple(CondaDep.parse(c) for c in conda),
                   pypi_deps=tuple(PypiDep.parse(p) for p in pypi), **kw)


def test_unknown_conda_package(engine_settings):
    with pytest.raises(ResolveError, match="nosuchcondapkg"):
        resolve_environment(_spec(conda=["nosuchcondapkg"]))


def test_unknown_pypi_package(engine_settings):
    with pytest.raises(ResolveError, match="nosuch-pypi-pkg-mfenvs"):
        resolve_environment(_spec(pypi=["nosuch-pypi-pkg-mfenvs"]))


def test_unsatisfiable_conda_constraints(engine_settings):
    with pytest.raises(ResolveError, match="(?s)cannot satisfy.*chain"):
        resolve_environment(_spec(conda=["chaina>=2", "chainb<2"]))


def test_unsatisfiable_virtual_package_names_it(engine_settings):
    with pytest.raises(ResolveError, match="__glibc"):
        resolve_environment(_spec(conda=["needsnewglibc"]))


def test_unsatisfiable_pypi_constraints(engine_settings):
    with pytest.raises(ResolveError, match="requests==0.0.1"):
        resolve_environment(_spec(pypi=["requests==0.0.1"]))


@pytest.mark.parametrize("text", ["foo>>1", "foo=1..2", "foo ==="])
def test_malformed_conda_version(text):
    with pytest.raises(SpecError, match="foo"):
        CondaDep.parse(text)


def test_malformed_pypi_requirement():
    with pytest.raises(SpecError, match="requests>>=2"):
        PypiDep.parse("requests>>=2")


def test_missing_file(tmp_path):
    with pytest.raises(SpecError, match=str(tmp_path / "nope.txt")):
        parse_file(str(tmp_path / "nope.txt"))


def test_unreachable_channel(engine_settings, monkeypatch):
    with pytest.raises(ResolveError, match="Could not reach a Conda channel.*127.0.0.1:9"):
        resolve_environment(_spec(conda=["tinyutil"], channels=("http://127.0.0.1:9/nochannel",)))


def test_unreachable_index(engine_settings):
    from metaflow_extensions.envs.plugins.envs.spec.model import PypiSources

    with pytest.raises(ResolveError, match="127.0.0.1:9"):
        resolve_environment(_spec(pypi=["six"], pypi_sources=PypiSources(index_url="http://127.0.0.1:9/simple")))


def test_entry_point_prints_one_line_without_traceback(tmp_path):
    bad = tmp_path / "env.yml"
    bad.write_text("dependencies:\n  - [unclosed\n")
    proc = subprocess.run([sys.executable, str(REPO / "examples" / "create_env.py"), str(bad)],
                          capture_output=True, text=True, env=dict(os.environ, METAFLOW_DEBUG_CONDA="0"))
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert lines[0].startswith("metaflow-envs error:") and "env.yml" in lines[0]


def test_every_error_is_an_env_error():
    assert issubclass(SpecError, EnvError) and issubclass(ResolveError, EnvError)


def test_a_pypi_failure_leads_with_its_cause_not_the_requirement_list(engine_settings):
    many = ["six==1.16.0", "idna==3.7", "certifi", "charset-normalizer", "urllib3<3", "no-such-package-mfenvs-x"]
    with pytest.raises(ResolveError) as err:
        resolve_environment(EnvSpec(pypi_deps=tuple(PypiDep.parse(r) for r in many)))
    text = str(err.value)
    assert text.startswith("PyPI cannot resolve the 6 requirements for Python")
    assert "no-such-package-mfenvs-x" in text and "charset-normalizer" not in text.splitlines()[0]
