"""`metaflow environment resolve --prefer/--upgrade/--upgrade-package`, and `diff` of the result,
against an index where newer versions appear between two resolutions."""
import json

import pytest

from tests.fixtures.growing import NEWER, growing_pypi_index, publish_wheels

OURS = ("mfenvs-pa", "mfenvs-pb", "mfenvs-pc", "mfenvs-pdep")


@pytest.fixture
def index(tmp_path):
    with growing_pypi_index(tmp_path / "pypi") as server:
        yield server


def _file(cli, name, index, *requirements):
    (cli.root / name).write_text("--index-url %s/simple\n%s\n" % (index.url, "\n".join(requirements)))
    return name


def _ours(doc):
    """Our test packages only: what Metaflow itself needs may be added by the command."""
    return {p["name"]: p["version"] for p in doc["packages"] if p["name"] in OURS}


def test_resolve_prefer_upgrade_and_diff(cli, index):
    cli.env["METAFLOW_CONDA_PYPI_INDEX_MAX_AGE"] = "0"
    ab = _file(cli, "ab.txt", index, "mfenvs-pa", "mfenvs-pb")
    abc = _file(cli, "abc.txt", index, "mfenvs-pa", "mfenvs-pb", "mfenvs-pc")
    (v1,) = cli.json("resolve", "-r", ab, "--skip-metaflow-deps", "--alias", "team/ab:v1", "--json", "-q")
    assert _ours(v1) == {"mfenvs-pa": "1.0", "mfenvs-pb": "1.0", "mfenvs-pdep": "1.0"}
    index.grow()

    (v2,) = cli.json("resolve", "-r", abc, "--skip-metaflow-deps", "--prefer", "team/ab:v1", "--alias", "team/ab:v2",
                     "--json", "-q")
    assert _ours(v2) == {"mfenvs-pa": "1.0", "mfenvs-pb": "1.0", "mfenvs-pc": "1.0", "mfenvs-pdep": "1.0"}
    change = cli.json("diff", "team/ab:v1", "team/ab:v2", "--json", "-q")
    assert [p["name"] for p in change["added"]] == ["mfenvs-pc"]
    assert change["changed"] == [] and change["removed"] == []

    (one,) = cli.json("resolve", "-r", abc, "--skip-metaflow-deps", "--prefer", "team/ab:v1", "--upgrade-package", "mfenvs-pa",
                      "--alias", "team/ab:v3", "--json", "-q")
    assert _ours(one) == {"mfenvs-pa": "1.1", "mfenvs-pb": "1.0", "mfenvs-pc": "1.0", "mfenvs-pdep": "1.0"}
    change = cli.json("diff", "team/ab:v2", "team/ab:v3", "--json", "-q")
    assert [(p["name"], p["from"]["version"], p["to"]["version"]) for p in change["changed"]] == [
        ("mfenvs-pa", "1.0", "1.1")]
    assert change["added"] == [] and change["removed"] == []

    (every,) = cli.json("resolve", "-r", abc, "--skip-metaflow-deps", "--prefer", "team/ab:v1", "--upgrade", "--json", "-q")
    assert _ours(every) == {"mfenvs-pa": "1.1", "mfenvs-pb": "1.1", "mfenvs-pc": "1.0", "mfenvs-pdep": "1.1"}


def test_upgrade_package_must_be_a_name(cli, tmp_path):
    (tmp_path / "r.txt").write_text("six\n")
    line = cli.fails("resolve", "-r", "r.txt", "--upgrade-package", "six>=1")
    assert "'six>=1' is not a package name: fix --upgrade-package" in line
    assert not (cli.cache / "index.json").exists()  # refused before any work


def test_using_an_environment_whose_versions_are_gone_says_it_dropped_them(cli, index, tmp_path):
    cli.env["METAFLOW_CONDA_PYPI_INDEX_MAX_AGE"] = "0"
    (v1,) = cli.json("resolve", "-r", _file(cli, "b.txt", index, "mfenvs-pb"), "--skip-metaflow-deps",
                     "--alias", "team/b:v1", "--json", "-q")
    assert _ours(v1) == {"mfenvs-pb": "1.0"}
    # mfenvs-pb 1.0 is withdrawn from the index: keeping it cannot resolve, the request can.
    publish_wheels(tmp_path / "pypi", [p for p in NEWER if p.name == "mfenvs-pb"])
    proc = cli.run("resolve", "--using", "team/b:v1", "--pypi-pkg", "mfenvs-pc", "--skip-metaflow-deps", "--json")
    (extended,) = json.loads(proc.stdout)
    assert _ours(extended) == {"mfenvs-pb": "1.1", "mfenvs-pc": "1.0"}
    assert ("Keeping the versions of %s:%s does not resolve" % (v1["env_id"]["req_id"], v1["env_id"]["full_id"])) in proc.stderr
    assert "resolving again without them." in proc.stderr
