"""`metaflow environment resolve --verify` and METAFLOW_CONDA_VERIFY for flows: an environment
that resolves but does not import fails at resolve time, with nothing recorded or aliased.
mfenvs-* projects come from the local test index, served without credentials (other PyPI
packages, e.g. what Metaflow itself needs, from the default index)."""
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path
from typing import Tuple

import pytest

from tests.fixtures.channel import host_can_run_real_python
from tests.fixtures.lock_projects import (  # noqa: F401 (lock_index: a fixture)
    ALPHA_1, GAMMA, export_pylock, lock_index, lock_project, sha256_of,
)

from .conftest import FLOWS, METAFLOW

pytestmark = pytest.mark.skipif(not host_can_run_real_python(), reason="the test channel's Python runs on linux-64")


def test_resolve_verify_refuses_an_environment_that_does_not_import(cli, index_url):
    (cli.root / "req.txt").write_text("--extra-index-url %s\nmfenvs-brokenpair==1.0.0\n" % index_url)
    error = cli.fails("resolve", "-r", "req.txt", "--verify", "--alias", "team/broken:v1")
    assert "does not import" in error
    assert "mfenvs-brokenpair 1.0.0: import mfenvs_brokenpair failed: ValueError: mfenvs_otherdep.dtype size " \
           "changed" in error
    assert "its dependencies here: mfenvs-otherdep 2.0.0" in error
    assert "Unknown environment 'team/broken:v1'" in cli.fails("show", "team/broken:v1")  # not aliased
    assert cli.json("list", "--json")["environments"] == []  # not recorded either
    # Without --verify the same request resolves: the check is what stops it.
    cli.run("resolve", "-r", "req.txt", "-q")


def test_resolve_verify_passes_an_environment_that_imports(cli, index_url):
    (cli.root / "environment.yml").write_text(
        "dependencies:\n  - tinyutil==1.1.0\n  - ffmpeg\n  - pip:\n    - --extra-index-url %s\n"
        "    - mfenvs-brokenpair==1.0.0\n    - mfenvs-otherdep<2\n" % index_url)
    proc = cli.run("resolve", "-f", "environment.yml", "--verify", "--alias", "team/works:v1", "--json")
    verified = [line for line in proc.stderr.splitlines() if " verified: " in line]
    assert len(verified) == 1
    for module in ("tinyutil", "mfenvs_brokenpair", "mfenvs_otherdep"):
        assert module in verified[0]
    assert "ffmpeg has no importable module (a tool or data only): not imported." in proc.stderr
    assert cli.json("show", "--json", "team/works:v1")[0]["env_id"]["arch"] == "linux-64"
    assert not list((cli.cache / "scratch").iterdir())  # the scratch prefix is gone


def test_resolve_verify_says_what_it_could_not_verify(cli):
    (cli.root / "environment.yml").write_text("dependencies:\n  - tinyutil==1.1.0\n")
    proc = cli.run("resolve", "-f", "environment.yml", "--verify", "--arch", "osx-arm64", "-q")
    assert "warning: The osx-arm64 environment" in proc.stderr
    assert "not verified: it is for osx-arm64 and this machine is linux-64, so it cannot run here." in proc.stderr


def _verified(proc) -> str:
    (line,) = [line for line in proc.stderr.splitlines() if "verified" in line]
    return line


def test_resolve_verify_of_a_lock_imports_what_the_lock_asks_for(cli, lock_index):
    """uv.lock: the project's own dependencies (lk-gamma), not what they depend on (lk-alpha);
    pylock.toml and hashed requirements: every entry."""
    project = lock_project(cli.root / "project", lock_index.url + "/simple")
    export_pylock(project)
    (cli.root / "hashed.txt").write_text("--index-url %s/simple\nlk-gamma==1.0.0 --hash=sha256:%s\n"
                                         "lk-alpha==1.0.0 --hash=sha256:%s\n" % (
                                             lock_index.url, sha256_of(lock_index, GAMMA),
                                             sha256_of(lock_index, ALPHA_1)))
    quiet = ("--verify", "--skip-metaflow-deps", "--dry-run")
    assert _verified(cli.run("resolve", "--uv-lock", "project/uv.lock", *quiet)).endswith(
        " verified: lk_gamma imports.")
    for request in (("--pylock", "project/pylock.toml"), ("-r", "hashed.txt")):
        shutil.rmtree(str(cli.cache / "verified"))  # the same packages: verified again, not "earlier"
        line = _verified(cli.run("resolve", *request, *quiet))
        assert " verified: " in line and {"lk_gamma", "lk_alpha"} <= set(line.split(": ")[-1].rstrip(".").replace(
            " import", "").split(", ")), line


def test_resolve_verify_with_nothing_to_import_says_nothing_was_verified(cli):
    proc = cli.run("resolve", "--python", "3.11", "--skip-metaflow-deps", "--verify", "-q")
    line = _verified(proc)
    assert "warning:" in line and "nothing was verified" in line and " verified:" not in line


def test_a_flow_with_conda_verify_fails_at_resolve_time_naming_the_step(cli, index_url):
    shutil.copy(FLOWS / "verify_flow.py", cli.root / "verify_flow.py")
    proc = cli.flow("verify_flow.py", "--environment=conda", "run", ok=False,
                    env={"METAFLOW_CONDA_VERIFY": "1", "MFENVS_TEST_INDEX": index_url})
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0 and "Traceback" not in out
    assert "Step start: The linux-64 environment" in out
    assert "mfenvs-brokenpair 1.0.0: import mfenvs_brokenpair failed" in out and "mfenvs-otherdep 2.0.0" in out
    assert "the start task ran" not in out and "Task is starting" not in out


def test_conda_verify_applies_to_the_flows_environment_resolve_too(cli, index_url):
    shutil.copy(FLOWS / "verify_flow.py", cli.root / "verify_flow.py")
    proc = cli.flow("verify_flow.py", "--environment=conda", "environment", "resolve", ok=False,
                    env={"METAFLOW_CONDA_VERIFY": "1", "MFENVS_TEST_INDEX": index_url})
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0 and "Traceback" not in out
    assert "Step start: The linux-64 environment" in out
    assert "mfenvs-brokenpair 1.0.0: import mfenvs_brokenpair failed" in out


def test_an_import_ending_the_probe_with_status_0_is_a_failure(cli, index_url):
    """`os._exit(0)` in an import: the probe reports nothing more, and that is no success."""
    (cli.root / "req.txt").write_text("--extra-index-url %s\nmfenvs-exitsok==1.0.0\nmfenvs-otherdep==1.0.0\n"
                                      % index_url)
    error = cli.fails("resolve", "-r", "req.txt", "--verify", "--alias", "team/exits:v1", "--skip-metaflow-deps")
    assert "mfenvs-exitsok 1.0.0: import mfenvs_exitsok failed: ended the Python process (exit status 0)" in error
    assert "mfenvs-otherdep 1.0.0: import mfenvs_otherdep failed: not checked: the import check stopped" in error
    assert "verified" not in error
    assert cli.json("list", "--json")["environments"] == []  # not recorded
    assert not list((cli.cache / "scratch").iterdir())


def _verify_until_the_slow_import(cli, index_url) -> Tuple[subprocess.Popen, Path]:
    """A `resolve --verify` (in a process group of its own) stopped in its slowest import;
    the process and its scratch directory."""
    (cli.root / "req.txt").write_text("--extra-index-url %s\nmfenvs-slow==1.0.0\n" % index_url)
    proc = subprocess.Popen(METAFLOW + ["environment", "resolve", "-r", "req.txt", "--verify", "--skip-metaflow-deps"],
                            cwd=str(cli.root), env=cli.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, start_new_session=True)
    deadline = time.monotonic() + 240  # a bound on the wait, not an assertion on time
    while time.monotonic() < deadline and proc.poll() is None:
        started = [p for p in (cli.cache / "scratch").glob("verify-*/imports.jsonl") if "mfenvs_slow" in p.read_text()]
        if started:
            return proc, started[0].parent
        time.sleep(0.2)
    _kill_group(proc)
    raise AssertionError("the verification never reached its import: %s" % (proc.communicate(),))


def _kill_group(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)  # the group this test started: the CLI and its probe
    except ProcessLookupError:
        pass
    proc.wait()


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_signal_during_verification_removes_the_scratch_prefix(cli, index_url, signum):
    proc, scratch = _verify_until_the_slow_import(cli, index_url)
    try:
        proc.send_signal(signum)
        _, stderr = proc.communicate(timeout=120)
    finally:
        _kill_group(proc)
    assert proc.returncode != 0 and "Traceback" not in stderr, stderr
    assert stderr.strip().splitlines()[-1] == "metaflow-envs error: interrupted."
    assert not scratch.exists() and not list((cli.cache / "scratch").iterdir())
    assert cli.json("list", "--json")["environments"] == []


def test_gc_removes_the_scratch_of_a_verification_killed_outright(cli, index_url):
    proc, scratch = _verify_until_the_slow_import(cli, index_url)
    _kill_group(proc)  # SIGKILL: nothing can clean up
    assert (scratch / "env" / "bin" / "python").exists()
    hours_ago = time.time() - 7200
    # Beside it: one of a running process (this one), and one gc did not make (no marker).
    running = cli.cache / "scratch" / ("verify-%d-live" % os.getpid())
    foreign = cli.cache / "scratch" / ("verify-%d-theirs" % proc.pid)
    for path in (running, foreign):
        (path / "data").mkdir(parents=True)
    (running / ".metaflow-envs-prefix").write_text("x")
    for path in (scratch, scratch / "env", scratch / "imports.jsonl", running, foreign):
        os.utime(path, (hours_ago, hours_ago))
    assert "Would remove verification scratch %s" % scratch in cli.run("gc", "--dry-run").stdout
    assert scratch.exists()
    out = cli.run("gc").stdout
    assert "Removed verification scratch %s" % scratch in out and not scratch.exists()
    assert running.is_dir() and (foreign / "data").is_dir() and str(running) not in out and str(foreign) not in out
