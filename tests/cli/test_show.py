"""`metaflow environment show`, `alias`, `get`, `list` and `diff` (local datastore)."""
import json

import pytest

from tests.fixtures.channel import PYTHON_VERSION


def test_show_human_output(seeded):
    out = seeded.run("show", "team/tiny:v2").stdout
    env_id = seeded.seed.ids["team/tiny:v2"]
    assert out.startswith("Environment team/tiny:v2 (default for its request)")
    for expected in ("type        mixed", "full id     %s:%s" % (env_id["req_id"], env_id["full_id"]),
                     "arch        linux-64", "python      %s (from conda)" % PYTHON_VERSION, "by tester",
                     "aliases     team/tiny:v2", "present as  (not created on this machine)",
                     "conda: tinyutil ==2.0.0", "pypi: six==1.16.0", "sources     conda: conda-forge",
                     "pypi: https://pypi.org/simple", "packages (3)"):
        assert expected in out, out
    assert "conda  tinyutil  2.0.0" in out and "pypi   six       1.16.0" in out


def test_show_json_by_alias_pathspec_and_ids(seeded):
    v1 = seeded.seed.ids["team/tiny:v1"]
    ids = "%s:%s" % (v1["req_id"], v1["full_id"])
    docs = seeded.json("show", "--json", "team/tiny:v1", ids, ids + ":linux-64", seeded.seed.run_pathspec)
    assert [d["env_id"] for d in docs[:3]] == [v1] * 3
    assert docs[0]["aliases"] == ["team/tiny:v1"] and docs[0]["type"] == "conda-only"
    step = docs[3]
    assert step["aliases"] == [seeded.seed.run_pathspec] and step["type"] == "mixed"
    assert {p["name"] for p in step["packages"]} >= {"python", "tinyutil", "requests"}
    for pkg in step["packages"]:
        assert {"name", "version", "kind", "url", "sha256"} <= set(pkg) and pkg["kind"] in ("conda", "pypi")


def test_show_errors(seeded):
    v1 = seeded.seed.ids["team/tiny:v1"]
    assert "Unknown environment 'team/nothing:latest'" in seeded.fails("show", "team/nothing")
    assert "metaflow environment list" in seeded.fails("show", "team/nothing")
    # A name known under other tags: the message lists them.
    assert "no tag 'latest' of team/tiny; tags: v1, v2." in seeded.fails("show", "team/tiny")
    assert "is for linux-64, not osx-arm64" in seeded.fails("show", "--arch", "osx-arm64", "team/tiny:v1")
    assert "Unknown architecture 'arm'" in seeded.fails("show", "--arch", "arm", "team/tiny:v1")
    assert "Invalid environment name 'Not An Alias'" in seeded.fails("show", "Not An Alias")
    unknown = "%s:%s" % (v1["req_id"], "0" * 40)
    assert "Unknown environment %s for linux-64" % unknown in seeded.fails("show", unknown)
    assert "Unknown architecture 'win-64' in" in seeded.fails("show", unknown + ":win-64")
    assert "Missing argument" in seeded.fails("show", status=2)


def test_debug_shows_the_traceback(seeded):
    proc = seeded.run("show", "team/nothing", ok=False, env={"METAFLOW_DEBUG_CONDA": "1"})
    assert "Traceback" in proc.stderr and "Unknown environment" in proc.stderr


def test_alias_and_list(seeded):
    v2 = seeded.seed.ids["team/tiny:v2"]
    out = seeded.run("alias", "team/tiny:v2", "prod/tiny:stable").stdout
    assert out.strip() == "prod/tiny:stable -> %s:%s (linux-64)" % (v2["req_id"], v2["full_id"])
    assert seeded.json("show", "--json", "prod/tiny:stable")[0]["env_id"] == v2
    # Mutable tags move; other aliases are immutable.
    seeded.run("alias", "team/tiny:v1", "prod/tiny:stable")
    assert seeded.json("show", "--json", "prod/tiny:stable")[0]["env_id"] == seeded.seed.ids["team/tiny:v1"]
    seeded.run("alias", "team/tiny:v1", "prod/tiny:pinned")
    assert "immutable" in seeded.fails("alias", "team/tiny:v2", "prod/tiny:pinned")
    # A pathspec can be given a name.
    seeded.run("alias", seeded.seed.run_pathspec, "team/from-run:v1")

    listed = seeded.json("list", "--json")
    assert listed["aliases"]["prod/tiny:stable"] == seeded.seed.ids["team/tiny:v1"]
    assert listed["aliases"]["team/from-run:v1"]["arch"] == "linux-64"
    by_full = {e["env_id"]["full_id"]: e for e in listed["environments"]}
    v1_entry = by_full[seeded.seed.ids["team/tiny:v1"]["full_id"]]
    assert set(v1_entry["aliases"]) == {"team/tiny:v1", "prod/tiny:stable", "prod/tiny:pinned"}
    assert v1_entry["is_default"] and v1_entry["type"] == "conda-only" and v1_entry["python"] == PYTHON_VERSION
    human = seeded.run("list").stdout
    assert "Environments (%d):" % len(listed["environments"]) in human and "prod/tiny:stable" in human
    assert seeded.json("list", "--json", "--arch", "osx-64") == {"environments": [], "aliases": {}}


def test_list_shows_names_and_keeps_run_pathspecs_behind_an_option(seeded):
    """Every run adds a pathspec per step: by default `list` shows the names people gave, and
    the runs' pathspecs (and environments known only through them) with --pathspecs or --flow."""
    run_env = seeded.json("show", "--json", seeded.seed.run_pathspec)[0]["env_id"]
    listed = seeded.json("list", "--json")
    assert set(listed["aliases"]) == {"team/tiny:v1", "team/tiny:v2", "team/six:v1"}
    assert run_env not in [e["env_id"] for e in listed["environments"]]
    human = seeded.run("list").stdout
    assert seeded.seed.run_pathspec not in human
    assert "Not shown: 1 run pathspec (Flow/run/step) and 1 environment known only through them" in human

    everything = seeded.json("list", "--json", "--pathspecs")
    assert everything["aliases"][seeded.seed.run_pathspec] == run_env
    assert run_env in [e["env_id"] for e in everything["environments"]]
    assert set(listed["aliases"]) < set(everything["aliases"])

    one_flow = seeded.json("list", "--json", "--flow", "CodeFlow")
    assert one_flow["aliases"] == {seeded.seed.run_pathspec: run_env}
    assert [e["env_id"] for e in one_flow["environments"]] == [run_env]
    assert seeded.json("list", "--json", "--flow", "OtherFlow") == {"environments": [], "aliases": {}}
    assert "Invalid flow name 'not a flow'" in seeded.fails("list", "--flow", "not a flow", status=2)


@pytest.mark.parametrize("args, expected", [
    (["team/tiny:v1", "Bad Alias"], "Invalid environment name 'Bad Alias'"),
    (["team/tiny:v1", "Flow/1/step"], "Invalid environment name 'Flow/1/step'"),
    (["team/unknown:v1", "team/x:v1"], "Unknown environment 'team/unknown:v1'"),
])
def test_alias_errors(seeded, args, expected):
    assert expected in seeded.fails("alias", *args)


def test_get_with_the_local_datastore(seeded):
    proc = seeded.run("get", "team/tiny:v1")
    assert "team/tiny:v1 -> %s:%s (linux-64) is in the local index (default)" % (
        seeded.seed.ids["team/tiny:v1"]["req_id"], seeded.seed.ids["team/tiny:v1"]["full_id"]) in proc.stdout
    assert "local index only" in proc.stderr
    assert "Unknown environment" in seeded.fails("get", "team/none:v1")
    assert "Unknown architecture" in seeded.fails("get", "--arch", "sparc", "team/tiny:v1")


def test_diff(seeded):
    out = seeded.run("diff", "team/tiny:v1", "team/tiny:v2").stdout
    assert "~ conda tinyutil 1.1.0 -> 2.0.0" in out
    assert "+ pypi  six 1.16.0" in out
    assert out.strip().endswith("1 added, 0 removed, 1 changed, 1 unchanged")
    result = seeded.json("diff", "--json", "team/tiny:v2", "team/tiny:v1")
    assert [p["name"] for p in result["removed"]] == ["six"] and result["added"] == []
    assert result["changed"][0]["from"]["version"] == "2.0.0" and result["changed"][0]["to"]["version"] == "1.1.0"
    assert result["a"] == seeded.seed.ids["team/tiny:v2"]
    same = seeded.json("diff", "--json", "team/tiny:v1", "team/tiny:v1")
    assert not (same["added"] or same["removed"] or same["changed"])
    assert "Unknown environment" in seeded.fails("diff", "team/tiny:v1", "team/none:v1")
    assert "Missing argument" in seeded.fails("diff", "team/tiny:v1", status=2)


def test_banner_and_module_entry_point(seeded):
    """Through `python -m metaflow.cmd.main_cli` too, stdout holds only the document."""
    import sys

    proc = seeded.run("show", "--json", "team/tiny:v1", command=[sys.executable, "-m", "metaflow.cmd.main_cli"])
    assert json.loads(proc.stdout)[0]["env_id"] == seeded.seed.ids["team/tiny:v1"]
    assert "Metaflow (" in proc.stderr


def test_remaining_options(seeded):
    """--arch, --local-only and --quiet where they only narrow what a command looks at."""
    v1 = seeded.seed.ids["team/tiny:v1"]
    assert seeded.json("show", "--json", "--arch", "linux-64", "--local-only", "-q", "team/tiny:v1")[0]["env_id"] == v1
    assert seeded.run("alias", "--local-only", "-q", "team/tiny:v1", "team/other:v1").stdout.startswith(
        "team/other:v1 -> ")
    assert "(default)" not in seeded.run("get", "--no-default", "--arch", "linux-64", "-q", "team/other:v1").stdout
    assert seeded.json("diff", "--json", "--local-only", "-q", "team/other:v1", "team/tiny:v1")["unchanged"] == 2
    text = seeded.run("export", "team/tiny:v1", "--format", "explicit", "--arch", "linux-64", "--local-only",
                      "-q").stdout
    assert "@EXPLICIT" in text
    assert "is for linux-64, not osx-64" in seeded.fails("export", "team/tiny:v1", "--format", "explicit",
                                                         "--arch", "osx-64")


def test_diff_shows_a_change_of_python(cli):
    (cli.root / "six.txt").write_text("six==1.16.0\n")
    conda = cli.json("resolve", "-r", "six.txt", "--json", "-q")[0]["env_id"]
    system = cli.json("resolve", "-r", "six.txt", "--json", "-q", env={"METAFLOW_CONDA_PYTHON_SOURCE": "system"})[0]
    ids = ["%s:%s" % (e["req_id"], e["full_id"]) for e in (conda, system["env_id"])]
    out = cli.run("diff", *ids).stdout
    assert "~ Python %s (conda) -> %s (system)" % (PYTHON_VERSION, system["python"]) in out
    assert cli.json("diff", "--json", *ids)["python"] == {
        "from": "%s (conda)" % PYTHON_VERSION, "to": "%s (system)" % system["python"]}
