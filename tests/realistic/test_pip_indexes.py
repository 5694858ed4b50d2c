"""pip's configuration means what it means to pip: with an extra index in ~/.config/pip/pip.conf
(older releases of packages that pypi.org has newer, and a release for another Python only),
the real CLI and a real flow lock what `pip install` picks on the same input. Indexes declared
the uv way keep uv's rule, as `uv pip compile` shows."""
import json
import re
import shutil
import sys
from pathlib import Path

import pytest

from tests.fixtures.wheelhouse import other_python

from .conftest import USER, pypi_versions

pytestmark = pytest.mark.network  # the newer releases come from pypi.org

FLOWS = Path(__file__).with_name("flows")
# The reproduction of the issue: each of these is on the extra index in an older release (or
# for another Python), and on pypi.org in the release pip takes.
LINES = "tabulate==0.9.0\nsix>=1.16\nmarkupsafe>=2.1\n"


def _requirements(machine, name: str, text: str) -> Path:
    path = machine.root / name
    path.write_text(text)
    return path


def test_the_wheelhouse_holds_the_shapes_that_broke(wheelhouse):
    names = [f.name for f in wheelhouse.files]
    assert "tabulate-0.8.10-py3-none-any.whl" in names and "six-1.15.0-py2.py3-none-any.whl" in names
    other = "cp%s" % other_python().replace(".", "")
    assert [n for n in names if n.startswith("MarkupSafe")] == [n for n in names if "-%s-" % other in n]


def test_resolve_locks_what_pip_picks_with_pip_conf_extra_index(machine, pip_conf_index):
    requirements = _requirements(machine, "requirements.txt", LINES)
    mark = pip_conf_index.mark()
    doc = machine.resolve("-r", str(requirements))
    # pip.conf's extra index was searched, with the credentials of ~/.netrc.
    seen = pip_conf_index.requests_since(mark)
    assert any(r.path.startswith("/simple/tabulate") and r.status == 200 and r.user == USER for r in seen), seen
    locked = pypi_versions(doc)
    assert locked == machine.pip_picks(requirements, doc["python"])
    assert locked["tabulate"] == "0.9.0"
    assert doc["requested"]["pypi_sources"]["index_strategy"] == "unsafe-best-match"
    shown = machine.metaflow("show", "%s:%s" % (doc["env_id"]["req_id"], doc["env_id"]["full_id"])).stdout
    assert "(unsafe-best-match)" in shown and "%s/simple (extra)" % pip_conf_index.url in shown


def test_requirements_with_their_own_extra_index_lock_what_pip_picks(machine, file_index):
    requirements = _requirements(machine, "own-index.txt", "--extra-index-url %s/simple\n%s" % (file_index.url, LINES))
    mark = file_index.mark()
    doc = machine.resolve("-r", str(requirements))
    assert any(r.path.startswith("/simple/six") and r.user == USER for r in file_index.requests_since(mark))
    locked = pypi_versions(doc)
    assert locked == machine.pip_picks(requirements, doc["python"])
    assert locked["six"] != "1.15.0"


def test_a_refusal_by_index_names_where_each_index_was_declared(machine, pip_conf_index, file_index):
    """uv's first-index rule (asked for with the setting) refuses tabulate 0.9.0: the message
    names the requirements file's line and the pip.conf that declared the indexes, and our
    setting rather than uv's flag."""
    requirements = _requirements(machine, "first-index.txt", "--extra-index-url %s/simple\ntabulate==0.9.0\n"
                                 % file_index.url)
    proc = machine.metaflow("resolve", "-r", str(requirements), "--skip-metaflow-deps", ok=False,
                            env={"METAFLOW_CONDA_PYPI_INDEX_STRATEGY": "first-index"})
    assert "Traceback" not in proc.stderr
    assert "%s/simple is --extra-index-url in %s, line 1" % (file_index.url, requirements) in proc.stderr
    assert "METAFLOW_CONDA_PYPI_INDEX_STRATEGY=unsafe-best-match" in proc.stderr
    assert "--index-strategy" not in proc.stderr
    plain = _requirements(machine, "first-index-pip-conf.txt", "tabulate==0.9.0\n")
    proc = machine.metaflow("resolve", "-r", str(plain), "--skip-metaflow-deps", ok=False,
                            env={"METAFLOW_CONDA_PYPI_INDEX_STRATEGY": "first-index"})
    assert "%s/simple is extra-index-url in %s [global]" % (pip_conf_index.url, machine.pip_conf) in proc.stderr


def test_a_flow_step_locks_what_pip_picks(machine, pip_conf_index):
    flow = machine.root / "flow" / "pip_conf_flow.py"
    flow.parent.mkdir()
    shutil.copy(FLOWS / flow.name, flow)
    # A pip setting that changes what pip installs, which is not applied: said, never dropped silently.
    proc = machine.flow(flow, "--environment=pypi", "run", env={"PIP_PREFER_BINARY": "1"})
    assert "Warning: pip's configuration sets what metaflow-envs does not apply" in proc.stdout + proc.stderr
    assert "prefer-binary = 1 (PIP_PREFER_BINARY)" in proc.stdout + proc.stderr
    versions = json.loads(re.search(r"VERSIONS (\{.*\})", proc.stdout + proc.stderr).group(1))
    requirements = _requirements(machine, "flow.txt", LINES)  # the flow's PACKAGES
    python = re.search(r"Python (\d+\.\d+\.\d+)", proc.stdout + proc.stderr).group(1)
    assert versions == machine.pip_picks(requirements, python)


def test_indexes_declared_the_uv_way_keep_first_index(machine, file_index):
    project = machine.root / "uv-project"
    project.mkdir()
    (project / "pyproject.toml").write_text(
        '[project]\nname = "uv-indexed"\nversion = "0.1.0"\nrequires-python = "==3.%d.*"\n'
        'dependencies = ["six", "tabulate"]\n\n[[tool.uv.index]]\nname = "wheelhouse"\nurl = "%s/simple"\n'
        % (sys.version_info[1], file_index.url))
    proc = machine.metaflow("resolve", "-p", str(project / "pyproject.toml"), "--json", "--skip-metaflow-deps")
    doc = json.loads(proc.stdout)[0]
    locked = pypi_versions(doc)
    assert locked == machine.uv_picks(project, doc["python"])
    assert locked == {"six": "1.15.0", "tabulate": "0.8.10"}  # uv's rule: the first index that has them
    assert doc["requested"]["pypi_sources"]["index_strategy"] == "first-index"
    # pip's extra index is not searched, as uv does not read pip.conf; and that is said.
    assert "pip's configuration does not apply" in proc.stderr and str(machine.pip_conf) in proc.stderr
