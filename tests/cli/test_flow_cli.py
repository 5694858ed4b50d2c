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
    assert [d["state"] for d in docs] == ["resolved", "resolved", "fetch-at-exec", "disabled"]
    start = docs[0]
    assert start["type"] == "mixed" and start["env_id"]["arch"] == "linux-64"
    assert {"tinyutil", "python"} <= {p["name"] for p in start["packages"]}
    assert docs[2]["env_id"] is None and "team/cli-late:v1" in docs[2]["note"]
    assert docs[3]["env_id"] is None
    # The same document as the top-level `show --json` of that environment.
    ids = "%s:%s" % (start["env_id"]["req_id"], start["env_id"]["full_id"])
    top = json.loads(cli.run("show", "--json", ids).stdout)[0]
    assert dict(start, step=None, state=None) == dict(top, step=None, state=None)
    # --output FILE: the JSON documents, whatever stdout shows (the reference's flow-level
    # `show --local-only` spelling of the negative form works too).
    out = cli.root / "show.json"
    human = env(cli, "show", "--output", str(out), "--no-local-only", "pypi_step", "end").stdout
    assert human.startswith("Environment of step pypi_step") and "type        pypi-only" in human
    assert "Step end: no environment" in human
    # The reference's shape: {step: StepEnvInfo's fields}.
    written = json.loads(out.read_text())
    assert list(written) == ["pypi_step", "end"] and written["end"]["is_disabled"] is True
    pypi_step = written["pypi_step"]
    assert pypi_step["env_id"] == [docs[1]["env_id"][k] for k in ("req_id", "full_id", "arch")]
    assert pypi_step["newly_resolved"] is False and pypi_step["env"]["packages"] == docs[1]["packages"]
    assert pypi_step["requested_packages"]["pypi"] == {"six": "==1.16.0"}


def test_resolve_json_and_output(cli):
    out = cli.root / "resolved.json"
    proc = env(cli, "resolve", "--json", "--output", str(out), "pypi_step")
    docs = json.loads(proc.stdout)
    assert [d["step"] for d in docs] == ["pypi_step"] and docs[0]["type"] == "pypi-only"
    assert docs[0]["state"] == "resolved"
    # --output: the reference's shape, {step: {arch: {req_id, full_id, newly_resolved, env}}}.
    env_id = docs[0]["env_id"]
    assert json.loads(out.read_text()) == {"pypi_step": {env_id["arch"]: {
        "req_id": env_id["req_id"], "full_id": env_id["full_id"], "newly_resolved": True,
        "env": {k: v for k, v in docs[0].items() if k not in ("step", "state")}}}}
    # --no-json: the summary on stdout; the file says it was reused this time.
    again = env(cli, "resolve", "--json", "--no-json", "--output", str(out), "pypi_step")
    assert again.stdout.split()[:2] == ["pypi_step", "pypi-only"]
    assert json.loads(out.read_text())["pypi_step"][env_id["arch"]]["newly_resolved"] is False
    assert "is a directory" in assert_one_line_error(env(cli, "resolve", "--output", str(cli.root), ok=None))


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
from metaflow_extensions.envs.plugins.envs.ids import EnvID
from metaflow_extensions.envs.plugins.envs.integration.runner import EnvironmentInfo, StepEnvInfo

def env_info(e):
    assert isinstance(e, EnvironmentInfo) and isinstance(e.env_id, EnvID)
    return {"env_id": e.env_id.to_dict(), "type": e.env_type, "aliases": list(e.aliases),
            "packages": sorted(p.name for p in e.packages)}

def resolved(result):
    return {step: {arch: [env_info(env), new] for arch, (env, new) in per_arch.items()}
            for step, per_arch in result.items()}

def shown(result):
    out = {}
    for step, info in result.items():
        assert isinstance(info, StepEnvInfo)
        out[step] = {"is_disabled": info.is_disabled, "is_fetch_at_exec": info.is_fetch_at_exec,
                     "from_env_name": info.from_env_name, "requested_packages": info.requested_packages,
                     "requested_sources": info.requested_sources, "requested_hash": info.requested_hash,
                     "newly_resolved": info.newly_resolved, "env": env_info(info.env) if info.env else None}
    return out

with Runner(sys.argv[1], show_output=False) as runner:
    first = runner.environment().resolve("pypi_step", "end", arch="linux-64", alias=["team/runner:v1"])
    again = runner.environment().resolve("pypi_step", arch=["linux-64"], local_only=True, timeout=600)
    show = runner.environment().show("pypi_step", "late", "end", local_only=True, timeout=600)
    try:
        runner.environment().show(timeout=0.001)
        late = "no error"
    except RuntimeError as err:
        late = str(err)
    print(json.dumps({"first": resolved(first), "again": resolved(again), "shown": shown(show), "late": late}))
"""


def test_runner_returns_typed_environments(cli):
    """A real metaflow.Runner, in its own process as a user script would be: the reference's
    shapes, {step: {arch: (environment, newly_resolved)}} and {step: StepEnvInfo}."""
    import subprocess
    import sys

    from .conftest import FLOWS

    proc = subprocess.run([sys.executable, "-c", RUNNER, str(FLOWS / FLOW)], cwd=str(cli.root), env=cli.env,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    first, again, shown = out["first"], out["again"], out["shown"]
    assert list(first) == ["pypi_step"] and list(first["pypi_step"]) == ["linux-64"]  # `end` has none
    env, new = first["pypi_step"]["linux-64"]
    assert new is True and env["type"] == "pypi-only" and env["env_id"]["arch"] == "linux-64"
    assert {"six", "requests"} <= set(env["packages"]) and "team/runner:v1" in env["aliases"]
    assert again == {"pypi_step": {"linux-64": [env, False]}}
    assert list(shown) == ["pypi_step", "late", "end"]
    step = shown["pypi_step"]
    assert step["env"] == env and step["newly_resolved"] is False
    assert step["requested_packages"] == {"pypi": {"six": "==1.16.0"}} and step["requested_sources"] == {}
    assert step["requested_hash"] == env["env_id"]["req_id"]
    assert shown["late"]["is_fetch_at_exec"] and shown["late"]["from_env_name"] == "team/cli-late:v1"
    assert shown["late"]["env"] is None and shown["end"]["is_disabled"]
    assert "did not finish within 0.001 seconds (timeout)" in out["late"]


def test_local_only_leaves_the_datastore_alone(tmp_path, channel_server, s3_server, s3_prefix):
    """With an S3 datastore, `show --local-only` resolves what this machine does not know
    without publishing it; `resolve --non-local` (the reference's negative form) publishes."""
    from .conftest import s3_cli

    alice, bob = (s3_cli(tmp_path, channel_server, s3_server, s3_prefix, name) for name in ("alice", "bob"))
    docs = json.loads(env(alice, "show", "--local-only", "--json", "pypi_step").stdout)
    assert [(d["step"], d["state"]) for d in docs] == [("pypi_step", "resolved")]
    ids = "%s:%s" % (docs[0]["env_id"]["req_id"], docs[0]["env_id"]["full_id"])
    assert "Unknown environment" in bob.fails("show", ids)
    again = json.loads(env(alice, "resolve", "--local-only", "--non-local", "--json", "pypi_step").stdout)
    assert again[0]["state"] == "reused" and bob.json("show", "--json", ids)[0]["env_id"] == docs[0]["env_id"]


def test_a_full_python_version_in_a_decorator_takes_that_python_of_the_system(cli):
    """`@pypi(python="3.11.7")` with METAFLOW_CONDA_PYTHON_SOURCE=system: that very interpreter."""
    proc = cli.flow("exact_python_flow.py", "--environment=pypi", "environment", "resolve", "--json", "--dry-run",
                    "start", env={"METAFLOW_CONDA_PYTHON_SOURCE": "system"})
    (doc,) = json.loads(proc.stdout)
    assert doc["python"] == PYTHON_VERSION and doc["python_source"] == "system"
    assert doc["requested"]["python"] == PYTHON_VERSION + ".*"
