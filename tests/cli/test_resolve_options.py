"""`metaflow environment resolve` adds what Metaflow needs in a task (unless
--skip-metaflow-deps), and the reference extension's options: resolve with no file,
--conda-pkg/--pypi-pkg, --from/--from-pathspec, --pathspec on show/create/alias/get,
create --exact and the group's --environment."""
import json

from .conftest import assert_one_line_error


def _names(doc):
    return {p["name"] for p in doc["packages"]}


def _version(doc, name):
    return next(p["version"] for p in doc["packages"] if p["name"] == name)


def test_metaflow_needs_are_added_unless_skipped(cli):
    (cli.root / "environment.yml").write_text("dependencies:\n  - tinyutil==1.1.0\n")
    added = cli.json("resolve", "-f", "environment.yml", "--json", "-q", "--dry-run")[0]
    assert {"tinyutil", "requests"} <= _names(added)
    assert "requests>=2.21.0" in added["requested"]["pypi"]
    skipped = cli.json("resolve", "-f", "environment.yml", "--json", "-q", "--dry-run", "--skip-metaflow-deps")[0]
    assert "tinyutil" in _names(skipped) and "requests" not in _names(skipped)
    assert skipped["type"] == "conda-only"


def test_a_request_naming_requests_keeps_its_own(cli):
    (cli.root / "requirements.txt").write_text("requests==2.31.0\n")
    doc = cli.json("resolve", "-r", "requirements.txt", "--json", "-q", "--dry-run")[0]
    assert doc["requested"]["pypi"] == ["requests==2.31.0"] and _version(doc, "requests") == "2.31.0"


def test_a_flow_accepts_a_named_environment_resolved_by_the_cli(cli):
    """The issue's case: `resolve --alias` then a flow using it is no longer extended (or
    refused) for lacking requests: its step runs in exactly that environment."""
    (cli.root / "environment.yml").write_text("dependencies:\n  - tinyutil==1.1.0\n")
    named = cli.json("resolve", "-f", "environment.yml", "--alias", "team/cli-late:v1", "--json", "-q")[0]
    docs = json.loads(cli.flow("cli_flow.py", "--environment=conda", "environment", "show", "--json",
                               "late").stdout)
    # fetch_at_exec: looked up when the task starts, where a missing `requests` is refused
    assert docs[0]["env_id"] is None
    proc = cli.flow("cli_flow.py", "--environment=conda", "run", "--run-id-file", str(cli.root / "run-id"))
    assert "lacks what Metaflow needs" not in proc.stderr
    run_id = (cli.root / "run-id").read_text().strip()
    shown = cli.json("show", "--json", "--pathspec", "CliFlow/%s/late" % run_id)[0]
    assert shown["env_id"] == named["env_id"]


def test_resolve_with_no_file(cli):
    doc = cli.json("resolve", "--python", "3.11", "--json", "-q", "--alias", "team/bare:v1")[0]
    assert {"python", "requests"} <= _names(doc) and doc["python"].startswith("3.11.")
    assert cli.json("show", "--json", "team/bare:v1")[0]["env_id"] == doc["env_id"]
    line = cli.fails("resolve", "--skip-metaflow-deps", status=1)
    assert "Nothing to resolve with --skip-metaflow-deps" in line and "--conda-pkg" in line


def test_conda_and_pypi_packages_on_the_command_line(cli):
    doc = cli.json("resolve", "--python", "3.11", "--conda-pkg", "tinyutil==1.1.0", "--pypi-pkg", "six==1.16.0",
                   "--skip-metaflow-deps", "--json", "-q")[0]
    assert doc["requested"]["conda"] == ["tinyutil ==1.1.0"] and doc["requested"]["pypi"] == ["six==1.16.0"]
    assert (_version(doc, "tinyutil"), _version(doc, "six")) == ("1.1.0", "1.16.0")
    # Added to a file's requirements; the command line wins for a package both name.
    (cli.root / "environment.yml").write_text("dependencies:\n  - tinyutil==2.0.0\n")
    both = cli.json("resolve", "-f", "environment.yml", "--conda-pkg", "tinyutil==1.1.0", "--skip-metaflow-deps",
                    "--json", "-q", "--dry-run")[0]
    assert both["requested"]["conda"] == ["tinyutil ==1.1.0"]
    assert "--conda-pkg tiny util: Malformed Conda dependency" in cli.fails("resolve", "--conda-pkg", "tiny util")
    assert "--pypi-pkg six=1: Malformed PyPI requirement" in cli.fails("resolve", "--pypi-pkg", "six=1")
    assert not (cli.cache / "index").exists() or not list((cli.cache / "index").rglob("*.json"))


def test_from_re_resolves_the_request_while_using_keeps_the_versions(cli, channel_without_tinyutil_2):
    (cli.root / "environment.yml").write_text("dependencies:\n  - tinyutil\n")
    old_channel = {"METAFLOW_CONDA_CHANNEL_ALIAS": channel_without_tinyutil_2 + "/"}
    old = cli.json("resolve", "-f", "environment.yml", "--alias", "team/t:v1", "--json", "-q",
                   "--skip-metaflow-deps", env=old_channel)[0]
    assert _version(old, "tinyutil") == "1.1.0"
    kept = cli.json("resolve", "--using", "team/t:v1", "--pypi-pkg", "six==1.16.0", "--skip-metaflow-deps",
                    "--json", "-q", "--dry-run")[0]
    assert _version(kept, "tinyutil") == "1.1.0"
    # Same request, resolved again against today's channel: the newer tinyutil.
    again = cli.json("resolve", "--from", "team/t:v1", "--skip-metaflow-deps", "--alias", "team/t:v2", "--json",
                     "-q")[0]
    assert _version(again, "tinyutil") == "2.0.0"
    assert again["env_id"]["req_id"] == old["env_id"]["req_id"] and again["requested"] == old["requested"]
    assert again["env_id"]["full_id"] != old["env_id"]["full_id"]
    line = cli.fails("resolve", "--from", "team/t:v1", "--using", "team/t:v1", status=1)
    assert "Give only one of --using, --using-pathspec, --from and --from-pathspec" in line


def test_from_pathspec_and_pathspec_options(seeded):
    pathspec = seeded.seed.run_pathspec
    step_env = seeded.json("show", "--json", "--pathspec", pathspec)[0]
    again = seeded.json("resolve", "--from-pathspec", pathspec, "--json", "-q", "--dry-run")[0]
    assert again["requested"] == step_env["requested"]
    # --pathspec on get, alias and create
    seeded.run("get", "--pathspec", pathspec)
    seeded.run("alias", "--pathspec", pathspec, "team/from-step:v1")
    assert seeded.json("show", "--json", "team/from-step:v1")[0]["env_id"] == step_env["env_id"]
    plan = seeded.json("create", "--pathspec", pathspec, "--dry-run", "--json")
    assert plan["env_id"] == step_env["env_id"]
    # an alias is not a pathspec
    assert "Invalid pathspec 'team/tiny:v1'" in seeded.fails("show", "--pathspec", "team/tiny:v1", status=1)


def test_create_exact_refuses_to_extend(seeded, tmp_path):
    jupyter = tmp_path / "jupyter"
    line = seeded.fails("create", "team/tiny:v1", "--exact", "--install-notebook", "--notebook-prefix",
                        str(jupyter), status=1)
    assert "team/tiny:v1 has no ipykernel" in line and "drop --exact" in line
    assert not jupyter.exists() and not (seeded.cache / "envs").exists()
    # Without anything to extend, --exact creates the environment as usual.
    assert seeded.run("create", "team/tiny:v1", "--exact", "-q").stdout.strip().endswith("/bin/python")


def test_group_accepts_the_reference_environment_option(seeded):
    for value in ("conda", "pypi"):
        docs = seeded.json("--environment", value, "show", "--json", "team/tiny:v1")
        assert docs[0]["aliases"] == ["team/tiny:v1"]
    proc = seeded.run("--environment=local", "show", "team/tiny:v1", ok=False)
    assert "Invalid value for '--environment'" in assert_one_line_error(proc, 2)
