"""`metaflow environment resolve`."""
import json
import os
import re
import subprocess

import pytest

try:
    import tomllib
except ImportError:  # Python < 3.11
    import tomli as tomllib

from metaflow_extensions.envs.plugins.envs.plumbing.uv import uv_binary
from metaflow_extensions.envs.plugins.envs.resolve.platforms import host_platform
from tests.fixtures.channel import PYTHON_VERSION
from tests.fixtures.native_index import build_native_index
from tests.fixtures.servers import StaticFileServer

PYPROJECT = """\
[project]
name = "demo"
version = "0.1"
requires-python = ">=3.9"
dependencies = ["six==1.16.0"]
"""


def _packages(doc):
    return {(p["kind"], p["name"]): p for p in doc["packages"]}


def test_resolve_requirements_json_document(cli):
    (cli.root / "requirements.txt").write_text("six==1.16.0\n")
    docs = cli.json("resolve", "-r", "requirements.txt", "--json")
    assert isinstance(docs, list) and len(docs) == 1
    doc = docs[0]
    assert set(doc["env_id"]) == {"req_id", "full_id", "arch"}
    assert doc["env_id"]["arch"] == "linux-64"
    assert doc["type"] == "pypi-only"
    assert doc["python"] == PYTHON_VERSION
    six = _packages(doc)[("pypi", "six")]
    assert six["version"] == "1.16.0" and six["url"].endswith(".whl") and len(six["sha256"]) == 64
    assert _packages(doc)[("conda", "python")]["version"] == PYTHON_VERSION
    assert doc["aliases"] == [] and doc["is_default"] is True


def test_resolve_environment_yml_aliases_and_show_document(cli):
    (cli.root / "environment.yml").write_text("channels: [conda-forge]\ndependencies:\n  - tinyutil==1.1.0\n")
    resolved = cli.json("resolve", "-f", "environment.yml", "--alias", "team/a:v1", "--alias", "team/a", "--json")
    # mixed: Metaflow's `requests` (from PyPI) is added to what the file asks for
    assert resolved[0]["type"] == "mixed" and ("pypi", "requests") in _packages(resolved[0])
    assert resolved[0]["aliases"] == ["team/a:latest", "team/a:v1"]
    shown = cli.json("show", "--json", "team/a:v1")
    assert shown == resolved  # resolve --json prints the same document as show --json
    assert cli.json("show", "--json", "team/a")[0]["env_id"] == resolved[0]["env_id"]


def test_resolve_pyproject_with_python(cli):
    (cli.root / "pyproject.toml").write_text(PYPROJECT)
    major_minor = ".".join(PYTHON_VERSION.split(".")[:2])
    doc = cli.json("resolve", "-p", "pyproject.toml", "--python", major_minor, "--json", "-q")[0]
    assert doc["python"] == PYTHON_VERSION
    assert doc["requested"]["python"] == major_minor + ".*"
    assert ("pypi", "six") in _packages(doc)


def test_resolve_several_archs_alias_names_the_first(cli):
    (cli.root / "environment.yml").write_text("dependencies:\n  - tinyutil==1.1.0\n")
    proc = cli.run("resolve", "-f", "environment.yml", "--arch", "osx-arm64", "--arch", "linux-64",
                   "--alias", "team/multi:v1", "--json")
    docs = json.loads(proc.stdout)
    assert [d["env_id"]["arch"] for d in docs] == ["osx-arm64", "linux-64"]
    # one request; the osx one says which macOS it was resolved for (and so has its own req_id)
    assert [d["requested"].get("sys") for d in docs] == [{"__osx": "13.0"}, None]
    assert "the first --arch" in proc.stderr
    assert cli.json("show", "--json", "team/multi:v1")[0]["env_id"]["arch"] == "osx-arm64"
    assert "system: __osx==13.0" in cli.run("show", "team/multi:v1").stdout
    # Each arch is known locally (listed) after resolving.
    listed = cli.json("list", "--json")
    assert {e["env_id"]["arch"] for e in listed["environments"]} == {"osx-arm64", "linux-64"}


def test_dry_run_keeps_nothing(cli):
    (cli.root / "environment.yml").write_text("dependencies:\n  - tinyutil==1.1.0\n")
    doc = cli.json("resolve", "-f", "environment.yml", "--alias", "team/dry:v1", "--dry-run", "--json")[0]
    assert doc["type"] == "mixed" and doc["aliases"] == []  # mixed: with Metaflow's requests
    assert cli.json("list", "--json") == {"environments": [], "aliases": {}}
    assert not (cli.cache / "pkgs").exists() or not any((cli.cache / "pkgs").rglob("*.conda"))
    assert "Unknown environment" in cli.fails("show", "team/dry:v1")


def test_an_unknown_environment_yml_section_is_named_in_a_warning_even_with_quiet(cli):
    (cli.root / "environment.yml").write_text("channel: [bioconda]\ndependencies:\n  - tinyutil==1.1.0\n")
    proc = cli.run("resolve", "-f", "environment.yml", "--dry-run", "--json", "-q")
    assert json.loads(proc.stdout)[0]["type"] == "mixed"  # stdout holds only the result
    warning = ("warning: environment.yml, line 1: section 'channel:' is ignored: metaflow-envs does not "
               "know it; check its spelling (read: name, channels, pypi-indices, dependencies, sys).")
    assert proc.stderr.splitlines().count(warning) == 1, proc.stderr


def test_force_re_resolves_and_reuse_does_not(cli):
    (cli.root / "environment.yml").write_text("dependencies:\n  - tinyutil==1.1.0\n")
    first = cli.json("resolve", "-f", "environment.yml", "--json", "-q")[0]
    again = cli.json("resolve", "-f", "environment.yml", "--json", "-q")[0]
    assert again["resolved_at"] == first["resolved_at"]  # reused
    forced = cli.json("resolve", "-f", "environment.yml", "--json", "--force", "-q")[0]
    assert forced["resolved_at"] > first["resolved_at"]
    assert forced["env_id"] == first["env_id"]  # same packages, same full_id


def test_set_default_and_local_only(cli, channel_without_tinyutil_2):
    """Two different results for one request: the channel behind the alias changes."""
    (cli.root / "environment.yml").write_text("dependencies:\n  - tinyutil\n")
    old_channel = {"METAFLOW_CONDA_CHANNEL_ALIAS": channel_without_tinyutil_2 + "/"}
    old = cli.json("resolve", "-f", "environment.yml", "--json", "-q", "--local-only", env=old_channel)[0]
    assert _packages(old)[("conda", "tinyutil")]["version"] == "1.1.0"
    new = cli.json("resolve", "-f", "environment.yml", "--json", "-q", "--force", "--no-set-default")[0]
    assert _packages(new)[("conda", "tinyutil")]["version"] == "2.0.0"
    assert new["env_id"]["req_id"] == old["env_id"]["req_id"]
    assert new["is_default"] is False
    # The default for the request is still the old one: reused without --force.
    reused = cli.json("resolve", "-f", "environment.yml", "--json", "-q")[0]
    assert reused["env_id"] == old["env_id"] and reused["is_default"] is True
    # --set-default (the default) moves it.
    cli.run("resolve", "-f", "environment.yml", "--force", "-q")
    assert cli.json("resolve", "-f", "environment.yml", "--json", "-q")[0]["env_id"]["full_id"] \
        == new["env_id"]["full_id"]


def test_using_extends_an_environment(seeded):
    (seeded.root / "extra.txt").write_text("six==1.16.0\n")
    doc = seeded.json("resolve", "--using", "team/tiny:v1", "-r", "extra.txt", "--alias", "team/tiny-six:v1",
                      "--json", "-q")[0]
    pkgs = _packages(doc)
    assert pkgs[("conda", "tinyutil")]["version"] == "1.1.0"  # kept from the base
    assert pkgs[("pypi", "six")]["version"] == "1.16.0"
    assert doc["type"] == "mixed" and doc["aliases"] == ["team/tiny-six:v1"]


def test_using_pathspec_extends_a_step_environment(seeded):
    (seeded.root / "extra.txt").write_text("six==1.16.0\n")
    doc = seeded.json("resolve", "--using-pathspec", seeded.seed.run_pathspec, "-r", "extra.txt", "--json",
                      "-q")[0]
    pkgs = _packages(doc)
    assert ("conda", "tinyutil") in pkgs and ("pypi", "six") in pkgs and ("pypi", "requests") in pkgs


@pytest.mark.parametrize("args, expected", [
    (["-r", "missing.txt"], "File 'missing.txt' given to -r does not exist"),
    (["-f", "missing.yml"], "given to -f does not exist"),
    (["-p", "missing.toml"], "given to -p does not exist"),
    (["-r", "."], "is not a file"),
    (["-r", "reqs.txt", "-f", "env.yml"], "Give only one of -r, -f, -p"),
    (["-r", "reqs.txt", "--alias", "Team/Bad Name"], "Invalid environment name 'Team/Bad Name'"),
    (["-r", "reqs.txt", "--alias", "MyFlow/12/start"], "Invalid environment name"),
    (["-r", "reqs.txt", "--arch", "win-64"], "Unknown architecture 'win-64' for --arch"),
    (["-r", "reqs.txt", "--python", "three"], "'three' is not a Python version"),
    (["-r", "reqs.txt", "--using", "a/b", "--using-pathspec", "F/1/s"], "only one of --using, --using-pathspec, --from and --from-pathspec"),
    (["-r", "reqs.txt", "--using-pathspec", "not-a-pathspec"], "Invalid pathspec"),
    (["-r", "reqs.txt", "--using", "Bad:Tag!"], "Invalid environment name"),
    (["-r", "reqs.txt", "--alias", "team/%s:v1" % ("a" * 101)], "at most 200 characters, each '/'-separated part at most 100"),
    (["-r", "reqs.txt", "--alias", "team/x:%s" % ("v" * 101)], "and a tag at most 100"),
    (["-r", "reqs.txt", "--alias", "/".join(["abcdefgh"] * 30)], "at most 200 characters"),
    (["-r", "reqs.txt", "--using-pathspec", "F/%s/start" % ("1" * 201)], "at most 200 characters"),
    (["--skip-metaflow-deps"], "Nothing to resolve with --skip-metaflow-deps"),
    (["-r", "bad.txt"], "bad.txt"),
])
def test_bad_arguments_fail_before_any_work(cli, args, expected):
    (cli.root / "reqs.txt").write_text("six==1.16.0\n")
    (cli.root / "env.yml").write_text("dependencies: [tinyutil]\n")
    (cli.root / "bad.txt").write_text("six ===== 1\n")
    # An unreachable channel and index: any resolution attempt would fail differently.
    unreachable = {"METAFLOW_CONDA_CHANNEL_ALIAS": "http://127.0.0.1:9/", "UV_INDEX_URL": "http://127.0.0.1:9/simple",
                   "UV_DEFAULT_INDEX": "http://127.0.0.1:9/simple"}
    line = cli.fails("resolve", *args, env=unreachable)
    assert expected in line
    assert not (cli.cache / "index.json").exists()


def test_unknown_using_and_unsatisfiable_request(cli):
    (cli.root / "reqs.txt").write_text("six==1.16.0\n")
    assert "Unknown environment 'team/none:latest'" in cli.fails("resolve", "-r", "reqs.txt", "--using", "team/none")
    (cli.root / "env.yml").write_text("dependencies:\n  - tinyutil==9.9\n")
    assert "tinyutil" in cli.fails("resolve", "-f", "env.yml")


def test_usage_errors_are_one_line(cli):
    line = cli.fails("resolve", "--no-such-option", status=2)
    assert "--no-such-option" in line and "metaflow environment resolve --help" in line
    assert "--datastore" in cli.fails("--datastore", "ftp", "list", status=2)


@pytest.mark.parametrize("setting, value", [
    ("METAFLOW_CONDA_PYPI_INDEX_MAX_AGE", "inf"),
    ("METAFLOW_CONDA_PYPI_INDEX_MAX_AGE", "ten minutes"),
    ("METAFLOW_CONDA_RESOLVE_TIMEOUT", "soon"),
])
def test_numeric_setting_that_is_not_a_number_is_one_line(cli, setting, value):
    """Metaflow reads every setting when it starts; a bad number must still end in our one
    line naming the setting, not in a traceback from Metaflow's configuration."""
    (cli.root / "reqs.txt").write_text("six==1.16.0\n")  # PyPI on a Conda Python: both settings read
    line = cli.fails("resolve", "-r", "reqs.txt", "--dry-run", env={setting: value})
    assert re.search(r"%s must be a (whole )?number of seconds from \d+ to \d+, not '%s'" % (setting, value), line)


def test_python_source_is_checked_and_part_of_the_request(cli):
    (cli.root / "requirements.txt").write_text("six==1.16.0\n")
    error = cli.fails("resolve", "-r", "requirements.txt", env={"METAFLOW_CONDA_PYTHON_SOURCE": "sys"})
    assert "METAFLOW_CONDA_PYTHON_SOURCE must be conda or system, not 'sys'" in error

    from_conda = cli.json("resolve", "-r", "requirements.txt", "--json", "-q")[0]
    from_system = cli.json("resolve", "-r", "requirements.txt", "--json", "-q",
                           env={"METAFLOW_CONDA_PYTHON_SOURCE": "system"})[0]
    # Not the conda-Python environment reused: a request of its own, resolved anew.
    assert from_system["env_id"]["req_id"] != from_conda["env_id"]["req_id"]
    assert ("conda", "python") not in _packages(from_system)
    assert ("conda", "python") in _packages(from_conda)
    again = cli.json("resolve", "-r", "requirements.txt", "--json", "-q")[0]
    assert again["env_id"] == from_conda["env_id"]


def test_a_pypi_only_request_without_a_conda_channel_points_at_the_system_python(cli):
    (cli.root / "requirements.txt").write_text("six==1.16.0\n")
    error = cli.fails("resolve", "-r", "requirements.txt", env={"METAFLOW_CONDA_CHANNEL_ALIAS": "http://127.0.0.1:9/"})
    assert "Could not reach a Conda channel" in error
    assert "with METAFLOW_CONDA_PYTHON_SOURCE=system, a Python" in error


def test_python_option_may_narrow_but_not_contradict_the_file(cli):
    (cli.root / "pyproject.toml").write_text(PYPROJECT.replace(">=3.9", ">=3.14"))
    error = cli.fails("resolve", "-p", "pyproject.toml", "--python", "3.12")
    assert "--python 3.12.* contradicts pyproject.toml, which asks for Python >=3.14" in error
    (cli.root / "environment.yml").write_text("dependencies:\n  - python=3.8.2\n  - tinyutil\n")
    error = cli.fails("resolve", "-f", "environment.yml", "--python", "3.12")
    assert "contradicts environment.yml, which asks for Python 3.8.2" in error

    (cli.root / "pyproject.toml").write_text(PYPROJECT)
    doc = cli.json("resolve", "-p", "pyproject.toml", "--python", "3.11", "--json", "-q")[0]
    assert doc["python"] == PYTHON_VERSION


def test_nested_requirements_and_constraints_reach_the_resolver(cli, pypi_index_server):
    (cli.root / "reqs").mkdir()
    (cli.root / "reqs" / "index.txt").write_text("--extra-index-url %s\n" % pypi_index_server.index_url_with_credentials)
    (cli.root / "constraints.txt").write_text("mfenvs-alpha<2\n")
    (cli.root / "requirements.txt").write_text("-r reqs/index.txt\nmfenvs-beta\n")
    free = _packages(cli.json("resolve", "-r", "requirements.txt", "--json", "-q", "--dry-run")[0])
    assert free[("pypi", "mfenvs-alpha")]["version"] == "2.0.0"

    (cli.root / "requirements.txt").write_text("-r reqs/index.txt\nmfenvs-beta\n-c constraints.txt\n")
    bound = cli.json("resolve", "-r", "requirements.txt", "--json", "-q", "--dry-run")[0]
    assert _packages(bound)[("pypi", "mfenvs-alpha")]["version"] == "1.0.0"
    assert bound["requested"]["pypi_constraints"] == ["mfenvs-alpha<2"]


@pytest.mark.parametrize("arch", ["osx-arm64", "linux-aarch64"])
def test_system_python_resolves_pypi_only_requests_for_other_platforms(cli, arch):
    """uv resolves for any target; the lock records the Python series the target must have."""
    (cli.root / "requirements.txt").write_text("six==1.16.0\n")
    doc = cli.json("resolve", "-r", "requirements.txt", "--arch", arch, "--python", "3.11", "--json", "-q",
                   env={"METAFLOW_CONDA_PYTHON_SOURCE": "system"})[0]
    assert doc["env_id"]["arch"] == arch and doc["python"] == "3.11"
    kinds = {(p["kind"], p["name"]) for p in doc["packages"]}
    assert _packages(doc)[("pypi", "six")]["version"] == "1.16.0" and ("pypi", "requests") in kinds  # Metaflow's
    assert {kind for kind, _ in kinds} == {"pypi"}


@pytest.mark.skipif(host_platform() != "linux-64", reason="the host build's tag is this machine's")
def test_a_wheel_built_for_this_machine_only_is_noted(cli, tmp_path):
    """A source built here into a `linux_x86_64` wheel is locked for linux-64 with a note that
    it does not carry the target's manylinux promise (even with --quiet: it is a warning)."""
    with StaticFileServer(build_native_index(tmp_path / "native")) as server:
        (cli.root / "requirements.txt").write_text("--extra-index-url %s/simple/\nmfenvs-hostbuilt==1.0.0\n" % server.url)
        proc = cli.run("resolve", "-r", "requirements.txt", "--arch", "linux-64", "--dry-run", "-q",
                       env={"METAFLOW_CONDA_PYTHON_SOURCE": "system"})
    assert "PyPI package 'mfenvs-hostbuilt' 1.0.0 was built here from source as mfenvs_hostbuilt-1.0.0-" in proc.stderr
    assert "linux_x86_64.whl, a wheel for machines like this one" in proc.stderr


def test_osx_targets_the_macos_uv_assumes_and_the_lock_says_which(cli, tmp_path):
    """scipy-like: macOS 12+ wheels only. By default an osx-arm64 target is the macOS uv assumes
    (13.0: the macOS-12 wheel, as `uv pip compile --python-platform aarch64-apple-darwin`
    takes), recorded in the lock's request; METAFLOW_CONDA_OSX_VERSION moves it (another
    request), and an older one than the wheels need gets one line naming the fix."""
    with StaticFileServer(build_native_index(tmp_path / "native")) as server:
        (cli.root / "requirements.txt").write_text("--extra-index-url %s/simple/\nmfenvs-macnative==1.0.0\n" % server.url)
        env = {"METAFLOW_CONDA_PYTHON_SOURCE": "system"}
        args = ("resolve", "-r", "requirements.txt", "--arch", "osx-arm64", "--skip-metaflow-deps", "--dry-run")
        default = cli.json(*args, "--json", "-q", env=env)[0]
        newer = cli.json(*args, "--json", "-q", env=dict(env, METAFLOW_CONDA_OSX_VERSION="14.0"))[0]
        error = cli.fails(*args, env=dict(env, METAFLOW_CONDA_OSX_VERSION="11.0"))
    assert [p["filename"] for p in default["packages"]] == ["mfenvs_macnative-1.0.0-py3-none-macosx_12_0_arm64.whl"]
    assert default["requested"]["sys"] == {"__osx": "13.0"}
    assert [p["filename"] for p in newer["packages"]] == ["mfenvs_macnative-1.0.0-py3-none-macosx_14_0_arm64.whl"]
    assert newer["requested"]["sys"] == {"__osx": "14.0"}
    assert newer["env_id"]["req_id"] != default["env_id"]["req_id"]
    assert "has wheels for macOS 12.0 and newer only" in error and "METAFLOW_CONDA_OSX_VERSION=12.0" in error


@pytest.mark.network  # pyarrow from pypi.org, as a user resolving for a Mac gets it
def test_pyarrow_for_osx_arm64_takes_the_wheel_uv_takes(cli, tmp_path):
    """pyarrow 26 publishes macOS-12+ wheels only; the osx-arm64 lock holds the very wheel
    `uv pip compile --python-platform aarch64-apple-darwin` picks, with no setting."""
    (cli.root / "requirements.txt").write_text("pyarrow==26.0.1\n")
    doc = cli.json("resolve", "-r", "requirements.txt", "--arch", "osx-arm64", "--skip-metaflow-deps", "--dry-run",
                   "--json", "-q", env={"METAFLOW_CONDA_PYTHON_SOURCE": "system"})[0]
    env = {k: v for k, v in os.environ.items() if k != "MACOSX_DEPLOYMENT_TARGET"}
    subprocess.run([uv_binary(), "pip", "compile", str(cli.root / "requirements.txt"), "--no-config", "--quiet",
                    "--python-platform", "aarch64-apple-darwin", "--python-version", doc["python"],
                    "--format", "pylock.toml", "-o", "pylock.toml"], cwd=str(tmp_path), env=env, check=True)
    uv_wheels = [w.get("name") or w["url"].rsplit("/", 1)[-1] for p in tomllib.loads((tmp_path / "pylock.toml").read_text())["packages"]
                 if p["name"] == "pyarrow" for w in p["wheels"]]
    assert [p["filename"] for p in doc["packages"] if p["name"] == "pyarrow"] == uv_wheels
    assert uv_wheels[0].endswith("_arm64.whl") and "macosx_" in uv_wheels[0]


def test_a_bad_osx_version_setting_is_named(cli):
    (cli.root / "requirements.txt").write_text("six==1.16.0\n")
    error = cli.fails("resolve", "-r", "requirements.txt", "--arch", "osx-64", "--dry-run",
                      env={"METAFLOW_CONDA_OSX_VERSION": "ventura"})
    assert "METAFLOW_CONDA_OSX_VERSION must be a macOS version" in error and "'ventura'" in error
