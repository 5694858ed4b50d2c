"""`python flow.py --environment=conda environment resolve|show [STEP...]`."""
import json

import pytest

from tests.fixtures.channel import PYTHON_VERSION

from .conftest import assert_one_line_error

FLOW = "cli_flow.py"


def env(cli, *args, ok=True):
    return cli.flow(FLOW, "--environment=conda", "environment", *args, ok=ok)


def test_resolve_all_steps_then_reuse_then_force(cli):
    proc = env(cli, "resolve")
    lines = proc.stdout.strip().splitlines()
    assert [line.split()[0] for line in lines] == ["start", "pypi_step", "late", "end"]
    assert "mixed" in lines[0] and "pypi-only" in lines[1] and "linux-64" in lines[0]
    assert "looked up when the task starts: team/cli-late:v1" in lines[2]
    assert "no environment" in lines[3]
    assert "Resolving 2 environments for CliFlow" in proc.stderr and "resolved in" in proc.stderr
    again = env(cli, "resolve", "start")
    assert again.stdout.strip().splitlines()[0].split()[:3] == lines[0].split()[:3]
    assert "reused" in again.stderr and "pypi_step" not in again.stdout
    forced = env(cli, "resolve", "--force", "start")
    assert "resolved in" in forced.stderr and "reused" not in forced.stderr


def test_show_json_and_human(cli):
    docs = json.loads(env(cli, "show", "--json").stdout)
    assert [d["step"] for d in docs] == ["start", "pypi_step", "late", "end"]
    start = docs[0]
    assert start["type"] == "mixed" and start["env_id"]["arch"] == "linux-64"
    assert {"tinyutil", "python"} <= {p["name"] for p in start["packages"]}
    assert docs[2]["env_id"] is None and "team/cli-late:v1" in docs[2]["note"]
    assert docs[3]["env_id"] is None
    # The same document as the top-level `show --json` of that environment.
    ids = "%s:%s" % (start["env_id"]["req_id"], start["env_id"]["full_id"])
    top = json.loads(cli.run("show", "--json", ids).stdout)[0]
    assert dict(start, step=None) == dict(top, step=None)
    human = env(cli, "show", "pypi_step", "end").stdout
    assert human.startswith("Environment of step pypi_step") and "type        pypi-only" in human
    assert "Step end: no environment" in human


def test_resolve_json(cli):
    docs = json.loads(env(cli, "resolve", "--json", "pypi_step").stdout)
    assert [d["step"] for d in docs] == ["pypi_step"] and docs[0]["type"] == "pypi-only"


def test_errors(cli):
    proc = env(cli, "show", "nope", ok=None)
    assert "Unknown step nope in CliFlow: use one of start, pypi_step, late, end" in assert_one_line_error(proc, 2)
    proc = cli.flow("plain_flow.py", "environment", "show", ok=None)
    assert "need --environment=conda (or pypi)" in assert_one_line_error(proc, 1)


@pytest.mark.parametrize("args", [[], ["resolve"], ["show"]])
def test_help_has_examples(cli, args):
    out = env(cli, *args, "--help").stdout
    assert "Example" in out


def test_resolve_dry_run_arch_and_alias(cli):
    dry = json.loads(env(cli, "resolve", "--dry-run", "--json", "pypi_step").stdout)
    assert dry[0]["step"] == "pypi_step" and cli.json("list", "--json") == {"environments": [], "aliases": {}}
    both = json.loads(env(cli, "resolve", "--json", "--arch", "linux-64", "--arch", "osx-arm64", "pypi_step").stdout)
    assert [(d["step"], d["env_id"]["arch"]) for d in both] == [("pypi_step", "linux-64"), ("pypi_step", "osx-arm64")]
    env(cli, "resolve", "--alias", "team/from-flow:v1", "pypi_step")
    assert cli.json("show", "--json", "team/from-flow:v1")[0]["env_id"] == both[0]["env_id"]
    # An alias names one environment: refused, before any work, for steps with two.
    proc = env(cli, "resolve", "--alias", "team/two:v1", "start", "pypi_step", ok=None)
    line = assert_one_line_error(proc, 1)
    assert "--alias names one environment, but the steps have 2 (" in line and "start" in line and "pypi_step" in line
    assert "Resolving" not in proc.stderr


RUNNER = """
import json, sys
from metaflow import Runner
with Runner(sys.argv[1], show_output=False) as runner:
    print(json.dumps(runner.environment().resolve("pypi_step", arch=["linux-64"])))
"""


def test_runner_resolves_the_environments_of_a_flow(cli):
    """A real metaflow.Runner, in its own process as a user script would be."""
    import subprocess
    import sys

    from .conftest import FLOWS

    proc = subprocess.run([sys.executable, "-c", RUNNER, str(FLOWS / FLOW)], cwd=str(cli.root), env=cli.env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    docs = json.loads(proc.stdout.strip().splitlines()[-1])
    assert [(d["step"], d["type"]) for d in docs] == [("pypi_step", "pypi-only")]
    assert {"six", "requests"} <= {p["name"] for p in docs[0]["packages"]}


def test_a_full_python_version_in_a_decorator_takes_that_python_of_the_system(cli):
    """`@pypi(python="3.11.7")` with METAFLOW_CONDA_PYTHON_SOURCE=system: that very interpreter."""
    proc = cli.flow("exact_python_flow.py", "--environment=pypi", "environment", "resolve", "--json", "--dry-run",
                    "start", env={"METAFLOW_CONDA_PYTHON_SOURCE": "system"})
    (doc,) = json.loads(proc.stdout)
    assert doc["python"] == PYTHON_VERSION and doc["python_source"] == "system"
    assert doc["requested"]["python"] == PYTHON_VERSION + ".*"
