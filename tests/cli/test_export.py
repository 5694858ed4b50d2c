"""`metaflow environment export --format ...`."""
import json
import subprocess
import sys

import pytest
import yaml

from tests.fixtures.channel import PYTHON_VERSION

try:
    import tomllib
except ImportError:  # Python < 3.11
    import tomli as tomllib


def _lock(seeded, alias):
    return {(p["kind"], p["name"]): p for p in seeded.json("show", "--json", alias)[0]["packages"]}


def test_pylock(seeded, tmp_path):
    out = tmp_path / "pylock.toml"
    proc = seeded.run("export", "team/tiny:v2", "--format", "pylock", "-o", str(out))
    assert proc.stdout == ""
    assert "left out: conda python==" in proc.stderr  # Conda packages cannot be in a pylock
    doc = tomllib.loads(out.read_text())
    assert doc["lock-version"] == "1.0" and doc["created-by"] == "metaflow-envs"
    assert doc["environments"] == ["sys_platform == 'linux' and platform_machine == 'x86_64'"]
    six = _lock(seeded, "team/tiny:v2")[("pypi", "six")]
    [pkg] = doc["packages"]
    assert pkg["name"] == "six" and pkg["version"] == "1.16.0"
    assert pkg["wheels"] == [{"name": six["filename"], "url": six["url"], "size": six["size"],
                              "hashes": {"sha256": six["sha256"]}}]
    assert doc["tool"]["metaflow-envs"]["full-id"] == seeded.seed.ids["team/tiny:v2"]["full_id"]
    # uv installs from it (offline from its cache is not guaranteed: PyPI is reachable).
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "uv", "venv", "-q", str(venv)], check=True)
    proc = subprocess.run([sys.executable, "-m", "uv", "pip", "install", "-q", "--python", str(venv / "bin" / "python"),
                           "-r", str(out)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


def test_requirements_with_hashes(seeded):
    text = seeded.run("export", "team/six:v1", "--format", "requirements").stdout
    six = _lock(seeded, "team/six:v1")[("pypi", "six")]
    assert "six==1.16.0 \\\n    --hash=sha256:%s" % six["sha256"] in text
    assert "--require-hashes" in text


def test_environment_yml(seeded):
    doc = yaml.safe_load(seeded.run("export", "team/tiny:v2", "--format", "environment-yml").stdout)
    lock = _lock(seeded, "team/tiny:v2")
    assert doc["name"] == "team-tiny-v2" and doc["channels"] == ["conda-forge"]
    tiny = lock[("conda", "tinyutil")]
    assert "tinyutil=2.0.0=%s" % tiny["build"] in doc["dependencies"]
    assert "python=%s=%s" % (lock[("conda", "python")]["version"], lock[("conda", "python")]["build"]) \
        in doc["dependencies"]
    # The index the request used is part of it (filled in before hashing): the export says so.
    assert {"pip": ["--index-url https://pypi.org/simple", "six==1.16.0"]} in doc["dependencies"]
    assert "pip" in doc["dependencies"]


def test_explicit(seeded):
    proc = seeded.run("export", "team/tiny:v2", "--format", "explicit")
    lines = proc.stdout.splitlines()
    lock = _lock(seeded, "team/tiny:v2")
    assert "# platform: linux-64" in lines
    body = lines[lines.index("@EXPLICIT") + 1:]
    conda = [p for p in lock.values() if p["kind"] == "conda"]
    assert sorted(body) == sorted("%s#%s" % (p["url"], p["conda"]["md5"]) for p in conda)
    assert "left out: pypi six==1.16.0" in proc.stderr


def test_cyclonedx(seeded):
    bom = json.loads(seeded.run("export", "team/tiny:v2", "--format", "cyclonedx").stdout)
    assert bom["bomFormat"] == "CycloneDX" and bom["specVersion"] == "1.5"
    assert bom["serialNumber"].startswith("urn:uuid:")
    purls = {c["name"]: c["purl"] for c in bom["components"]}
    assert purls["six"] == "pkg:pypi/six@1.16.0"
    assert purls["tinyutil"].startswith("pkg:conda/tinyutil@2.0.0?")
    assert "channel=conda-forge" in purls["tinyutil"] and "subdir=noarch" in purls["tinyutil"]
    six = next(c for c in bom["components"] if c["name"] == "six")
    assert six["hashes"][0] == {"alg": "SHA-256", "content": _lock(seeded, "team/tiny:v2")[("pypi", "six")]["sha256"]}
    assert six["licenses"] == [{"license": {"name": "MIT"}}]  # from the wheel's own metadata
    assert bom["metadata"]["component"]["version"] == seeded.seed.ids["team/tiny:v2"]["full_id"]
    # Deterministic: the same environment gives the same document.
    assert json.loads(seeded.run("export", "team/tiny:v2", "--format", "cyclonedx").stdout) == bom


@pytest.mark.parametrize("args, expected", [
    (["team/tiny:v1", "--format", "yaml"], "Unknown --format 'yaml': use one of pylock, environment-yml"),
    (["team/tiny:v1", "--format", "pylock", "--arch", "win-64"], "Unknown architecture 'win-64' for --arch"),
    (["team/tiny:v1"], "Missing option '--format'"),
])
def test_values_outside_an_options_choices_are_usage_mistakes(seeded, args, expected):
    """docs/environment-cli.md: a usage mistake exits 2, like click's own."""
    assert expected in seeded.fails("export", *args, status=2)


@pytest.mark.parametrize("args, expected", [
    (["team/tiny:v1", "--format", "pylock"], "has no PyPI packages, so the pylock format cannot describe it"),
    (["team/tiny:v1", "--format", "requirements"], "has no PyPI packages"),
    (["team/tiny:v1", "--format", "yaml"], "Unknown --format 'yaml'"),
    (["team/tiny:v1"], "Missing option '--format'"),
    (["team/none:v1", "--format", "explicit"], "Unknown environment 'team/none:v1'"),
    (["team/tiny:v1", "--format", "explicit", "-o", "."], "-o . is a directory"),
])
def test_export_errors(seeded, args, expected):
    assert expected in seeded.fails("export", *args)


def test_a_full_python_version_round_trips_with_the_system_python(cli):
    """`--python 3.11.7` means that very version (Conda's `python=3.11.7` is `3.11.7.*`, which
    3.11.7 matches), also for an interpreter of this machine; the environment-yml export writes
    that form, and resolving it gives the same Python."""
    env = {"METAFLOW_CONDA_PYTHON_SOURCE": "system"}
    (cli.root / "requirements.txt").write_text("six==1.16.0\n")
    first = cli.json("resolve", "-r", "requirements.txt", "--python", PYTHON_VERSION, "--alias", "team/exact:v1",
                     "--json", "-q", env=env)[0]
    assert first["python"] == PYTHON_VERSION and first["python_source"] == "system"
    exported = cli.run("export", "team/exact:v1", "--format", "environment-yml", env=env).stdout
    assert "python=%s" % PYTHON_VERSION in yaml.safe_load(exported)["dependencies"]
    (cli.root / "environment.yml").write_text(exported)
    again = cli.json("resolve", "-f", "environment.yml", "--json", "-q", env=env)[0]
    assert again["python"] == PYTHON_VERSION and again["requested"]["python"] == PYTHON_VERSION + ".*"
    assert [(p["name"], p["version"]) for p in again["packages"] if p["kind"] == "pypi" and p["name"] == "six"] == [
        ("six", "1.16.0")]
