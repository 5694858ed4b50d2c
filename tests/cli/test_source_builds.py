"""A PyPI package built from source during `resolve` (or a flow's run) says so: which package, why (no wheel for
the declared glibc), and when it is done; a build that fails ends with the ways out. The sdists
carry their own build backend (tests/fixtures/pypi_index.py): nothing is compiled, and no index
is asked for build requirements. The "still building" notice comes every minute: its test calls
the builder in-process with a shorter interval."""
import shutil
import sys

import pytest

from metaflow_extensions.envs.plugins.envs.resolve import build
from metaflow_extensions.envs.plugins.envs.plumbing.notices import relayed_to
from tests.fixtures.channel import host_can_run_real_python
from tests.fixtures.pypi_index import PyProject, project_page, write_sdist, write_wheel
from tests.fixtures.servers import StaticFileServer

from .conftest import FLOWS

pytestmark = pytest.mark.skipif(not host_can_run_real_python(), reason="builds run the test channel's linux-64 Python")

BUILDS = PyProject("mfenvs-buildok", "1.0.0", "mfenvs_buildok")
FAILS = PyProject("mfenvs-buildfails", "1.0.0", "mfenvs_buildfails")
SLOW = PyProject("mfenvs-buildslow", "1.0.0", "mfenvs_buildslow")
# Only for glibc 2.28 and newer: a target declaring glibc 2.17 must build the sdist.
NEWER_GLIBC = "py3-none-manylinux_2_28_x86_64"


@pytest.fixture(scope="module")
def sources_index(tmp_path_factory):
    root = tmp_path_factory.mktemp("sources-index")
    (root / "files").mkdir()
    for project, seconds, fails in ((BUILDS, 0, False), (FAILS, 0, True), (SLOW, 3, False)):
        files = [(project, write_sdist(project, root / "files", build_seconds=seconds, build_fails=fails)),
                 (project, write_wheel(project, root / "files", NEWER_GLIBC))]
        (root / "simple" / project.normalized).mkdir(parents=True)
        (root / "simple" / project.normalized / "index.html").write_text(project_page(project.normalized, files))
    with StaticFileServer(root) as server:
        yield server


def _requirements(cli, index, project):
    (cli.root / "requirements.txt").write_text("--index-url %s/simple\n--sys-pkg __glibc==2.17\n%s==%s\n" % (
        index.url, project.name, project.version))


def test_a_source_build_says_what_is_built_and_why(cli, sources_index):
    _requirements(cli, sources_index, BUILDS)
    proc = cli.run("resolve", "-r", "requirements.txt", "--arch", "linux-64", "--skip-metaflow-deps", "--dry-run")
    started = [line for line in proc.stderr.splitlines() if line.startswith("Building mfenvs-buildok 1.0.0 from source")]
    assert len(started) == 1, proc.stderr
    assert "no wheel of mfenvs-buildok 1.0.0 for linux-64 with Python 3." in started[0]
    assert started[0].endswith("and glibc 2.17 (declared: __glibc==2.17).")
    assert "Built mfenvs-buildok 1.0.0 from source in " in proc.stderr
    assert "mfenvs-buildok" in proc.stdout


def test_a_flow_says_what_it_builds_from_source(cli, sources_index):
    shutil.copy(FLOWS / "source_build_flow.py", cli.root / "source_build_flow.py")
    proc = cli.flow("source_build_flow.py", "--environment=conda", "run",
                    env={"MFENVS_TEST_INDEX": sources_index.url + "/simple"})
    output = proc.stdout + proc.stderr
    assert "    Building mfenvs-buildok 1.0.0 from source for linux-64 (Python 3." in output, output
    assert "and glibc 2.17 (declared: __glibc==2.17)." in output
    assert "    Built mfenvs-buildok 1.0.0 from source in " in output
    assert "built from source: 1.0.0" in output


def test_a_failed_source_build_ends_with_the_ways_out(cli, sources_index):
    _requirements(cli, sources_index, FAILS)
    proc = cli.run("resolve", "-r", "requirements.txt", "--arch", "linux-64", "--skip-metaflow-deps", ok=False)
    assert "Traceback" not in proc.stderr
    assert "Building mfenvs-buildfails 1.0.0 from source" in proc.stderr
    assert "the compiler failed (on purpose, for a test)" in proc.stderr  # the backend's own words
    error = proc.stderr.strip().splitlines()[-1]
    assert error.startswith("metaflow-envs error: Could not build a wheel for 'mfenvs-buildfails'"), error
    ways_out = error[error.index("Ways out: "):]  # the end of the message
    assert ways_out.startswith("Ways out: pin a version of mfenvs-buildfails that publishes a wheel for linux-64 "
                               "(Python 3."), ways_out
    assert "`--conda-pkg mfenvs-buildfails`" in ways_out and "`--sys-pkg __glibc==VERSION`" in ways_out
    assert cli.json("list", "--json")["environments"] == []


def test_a_long_build_says_it_is_still_building(tmp_path, sources_index, monkeypatch):
    """In-process (the interval is a module constant): the real builder and uv, a 3s build."""
    from metaflow_extensions.envs.plugins.envs.auth import Credentials
    from metaflow_extensions.envs.plugins.envs.plumbing.cache import PackageCache
    from metaflow_extensions.envs.plugins.envs.resolve.pypi import SourceToBuild
    from metaflow_extensions.envs.plugins.envs.spec.model import EnvSpec, PypiSources

    monkeypatch.setenv("METAFLOW_CONDA_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(build, "STILL_BUILDING_EVERY", 0.5)
    spec = EnvSpec(pypi_sources=PypiSources(index_url=sources_index.url + "/simple"))
    version = "%d.%d" % sys.version_info[:2]
    builder = build.make_builder(lambda: sys.executable, version, spec, Credentials(), PackageCache(tmp_path / "pkgs"))
    sdist = "%s/files/%s" % (sources_index.url, SLOW.sdist_filename)
    shown = []
    with relayed_to(shown.append):
        builder(SourceToBuild(SLOW.name, SLOW.version, "sdist", sdist, why="a test"))
    assert shown[0] == "Building mfenvs-buildslow 1.0.0 from source for linux-64 (Python %s): a test." % version
    assert any(line.startswith("Still building mfenvs-buildslow 1.0.0 from source (") for line in shown[1:-1]), shown
    assert shown[-1].startswith("Built mfenvs-buildslow 1.0.0 from source in ")
