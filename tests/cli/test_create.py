"""`metaflow environment create`."""
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.fixtures.channel import host_can_run_real_python
from tests.cli.conftest import Cli

pytestmark = pytest.mark.skipif(not host_can_run_real_python(), reason="the test python only runs on linux-64")


def _run(python, code, **env):
    proc = subprocess.run([str(python), "-c", code], capture_output=True, text=True,
                          env=dict({"PATH": "/usr/bin:/bin"}, **env))
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip()


def test_create_default_prefix_and_quiet(seeded):
    # `resolve` cached every package; without them (this copy's links only) create downloads.
    shutil.rmtree(seeded.cache / "pkgs")
    proc = seeded.run("create", "team/tiny:v2")
    prefix = seeded.cache / "envs" / "linux-64"
    python = next(prefix.glob("*/*/bin/python"))
    assert "is ready at %s" % python.parent.parent in proc.stdout
    assert re.search(r"\n  Run Python in it: +%s\n" % re.escape(str(python)), proc.stdout)
    assert re.search(r"Downloading \d+ packages? and installing into", proc.stderr)  # plain: not a terminal
    assert _run(python, "import tinyutil, six; print(tinyutil.__version__, six.__version__)") == "2.0.0 1.16.0"
    # Again: nothing to do; --quiet prints only the interpreter.
    quiet = seeded.run("create", "team/tiny:v2", "--quiet")
    assert quiet.stdout.strip() == str(python)
    assert [line for line in quiet.stderr.splitlines() if line.strip() and not line.startswith("Metaflow")] == []
    shown = seeded.json("show", "--json", "team/tiny:v2")[0]
    assert shown["local_prefixes"] == [str(python.parent.parent)]


def test_create_with_name_prefix_and_force(seeded, tmp_path):
    named = seeded.run("create", "team/tiny:v1", "--name", "my-env", "-q").stdout.strip()
    assert named == str(seeded.cache / "envs" / "named" / "my-env" / "bin" / "python")
    assert _run(named, "import tinyutil; print(tinyutil.__version__)") == "1.1.0"
    assert seeded.json("show", "--json", "team/tiny:v1")[0]["local_prefixes"] == [str(Path(named).parent.parent)]
    assert "present as  %s" % Path(named).parent.parent in seeded.run("show", "team/tiny:v1").stdout

    target = tmp_path / "elsewhere"
    python = seeded.run("create", "team/tiny:v1", "--prefix", str(target), "-q").stdout.strip()
    assert python == str(target / "bin" / "python")
    marker = target / ".metaflow-envs-complete"
    os.utime(marker, (1, 1))
    seeded.run("create", "team/tiny:v1", "--prefix", str(target), "-q")
    assert marker.stat().st_mtime == 1  # complete: left alone
    seeded.run("create", "team/tiny:v1", "--prefix", str(target), "--force", "-q")
    assert marker.stat().st_mtime > 1  # re-created


def test_install_notebook(seeded, tmp_path):
    jupyter = tmp_path / "jupyter"
    proc = seeded.run("create", "team/tiny:v1", "--install-notebook", "--notebook-prefix", str(jupyter))
    kernel = jupyter / "share" / "jupyter" / "kernels" / "mf-team-tiny-v1" / "kernel.json"
    spec = json.loads(kernel.read_text())
    python = next((seeded.cache / "envs" / "linux-64").glob("*/*/bin/python"))
    assert spec["argv"] == [str(python), "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    assert spec["display_name"] == "Metaflow: team/tiny:v1" and spec["language"] == "python"
    # team/tiny:v1 has no ipykernel: the kernel runs in its extension with it, which starts.
    assert "Adding ipykernel to team/tiny:v1" in proc.stderr
    assert _run(python, "import ipykernel_launcher, tinyutil; print(tinyutil.__version__)") == "1.1.0"
    assert "Jupyter kernel:" in proc.stdout and str(kernel) in proc.stdout
    # --name names the kernel; the default location is Jupyter's user data dir.
    seeded.run("create", "team/tiny:v1", "--name", "nb", "--install-notebook", "-q",
               env={"JUPYTER_DATA_DIR": str(tmp_path / "data")})
    spec = json.loads((tmp_path / "data" / "kernels" / "mf-nb" / "kernel.json").read_text())
    assert spec["argv"][0] == str(seeded.cache / "envs" / "named" / "nb" / "bin" / "python")
    # An alias longer than a directory name may be: the kernel's name is cut, and kept apart by a hash.
    long = "%s/%s:%s" % ("m" * 99, "n" * 100, "t" * 100)  # the longest alias: past 255 bytes
    seeded.run("alias", "team/tiny:v1", long, "-q")
    seeded.run("create", long, "--install-notebook", "--notebook-prefix", str(jupyter), "-q")
    (kernel,) = [p for p in (jupyter / "share" / "jupyter" / "kernels").iterdir() if p.name != "mf-team-tiny-v1"]
    assert kernel.name.startswith("mf-mmmm") and len(kernel.name) == 100
    assert json.loads((kernel / "kernel.json").read_text())["display_name"] == "Metaflow: %s" % long


def test_into_dir_with_a_pathspec(seeded, tmp_path):
    into = tmp_path / "code"
    # From any directory, as `show` works: here nothing points Metaflow at the run's local
    # datastore (no METAFLOW_DATASTORE_SYSROOT_LOCAL, no .metaflow above the working dir).
    elsewhere = Cli(tmp_path, {k: v for k, v in seeded.env.items() if k != "METAFLOW_DATASTORE_SYSROOT_LOCAL"})
    proc = elsewhere.run("create", seeded.seed.run_pathspec, "--into-dir", str(into), "--install-notebook",
                      "--notebook-prefix", str(tmp_path / "jupyter"))
    assert (into / "code_flow.py").is_file()
    link = into / "__conda_python"
    assert link.is_file() and os.access(link, os.X_OK)  # a script running the environment's Python
    assert "Run the step's code: cd %s && PYTHONPATH=" % into in proc.stdout and "code_flow.py" in proc.stdout
    # The step's code and its packaged Metaflow import with the step's environment.
    pythonpath = "%s:%s" % (into / ".mf_code", into) if (into / ".mf_code").is_dir() else str(into)
    out = _run(link, "import code_flow, metaflow, tinyutil; print(tinyutil.__version__)", PYTHONPATH=pythonpath)
    assert out == "1.1.0"
    kernel = next((tmp_path / "jupyter").rglob("kernel.json"))
    assert json.loads(kernel.read_text())["env"] == {"PYTHONPATH": pythonpath}
    # DIR is now not empty: refused before any work, unless --force.
    assert "--into-dir %s is not empty" % into in seeded.fails("create", seeded.seed.run_pathspec, "--into-dir",
                                                               str(into))
    # Running the step's code there, as create suggests, leaves its Metaflow datastore (and
    # Python's bytecode of the code, from the imports above): --force replaces only what it
    # wrote, so it refuses, naming what it found, and removes nothing.
    user_env = {k: v for k, v in seeded.env.items() if k != "METAFLOW_DATASTORE_SYSROOT_LOCAL"}
    user_env["PYTHONPATH"] = pythonpath
    ran = subprocess.run([str(link), "code_flow.py", "--no-pylint", "run"], cwd=str(into), env=user_env,
                         capture_output=True, text=True, timeout=300)
    assert ran.returncode == 0, ran.stderr
    (into / "notes.txt").write_text("mine\n")
    before = sorted(str(p.relative_to(into)) for p in into.rglob("*"))
    assert ".metaflow" in before and "__pycache__" in before
    line = seeded.fails("create", seeded.seed.run_pathspec, "--into-dir", str(into), "--force")
    assert line == ("metaflow-envs error: Refusing to replace the content of %s: it holds 2 entries that "
                    "metaflow-envs did not write there (.metaflow, notes.txt). Move them elsewhere or remove "
                    "them yourself, or choose another directory." % into)
    assert sorted(str(p.relative_to(into)) for p in into.rglob("*")) == before
    shutil.rmtree(into / ".metaflow")
    (into / "notes.txt").unlink()
    seeded.run("create", seeded.seed.run_pathspec, "--into-dir", str(into), "--force", "-q")
    assert (into / "code_flow.py").is_file() and not (into / "__pycache__").exists()


def test_into_dir_with_an_alias_links_python_only(seeded, tmp_path):
    into = tmp_path / "work"
    seeded.run("create", "team/tiny:v1", "--into-dir", str(into), "-q")
    assert sorted(p.name for p in into.iterdir()) == [".metaflow-envs-manifest", ".metaflow-envs-prefix", "__conda_python"]


def _project(path: Path) -> list:
    path.mkdir(parents=True)
    (path / "main.py").write_text("print('mine')\n")
    (path / ".git").mkdir()
    (path / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    return sorted(str(p.relative_to(path)) for p in path.rglob("*"))


def test_create_never_destroys_what_it_did_not_create(seeded, tmp_path):
    project = tmp_path / "project"
    before = _project(project)
    for force in ([], ["--force"]):
        line = seeded.fails("create", "team/tiny:v1", "--prefix", str(project), *force)
        assert line == ("metaflow-envs error: Refusing to create an environment at %s: it is a non-empty directory "
                        "that metaflow-envs did not create. Choose an empty or new directory, or remove it "
                        "yourself." % project)
        assert "Refusing --into-dir %s: it is a non-empty directory" % project in seeded.fails(
            "create", "team/tiny:v1", "--into-dir", str(project), *force)
        assert sorted(str(p.relative_to(project)) for p in project.rglob("*")) == before
    (tmp_path / "notes.txt").write_text("keep\n")
    home = tmp_path / "home"
    home.mkdir()
    for target, why in ((tmp_path / "notes.txt", "it is a file"),
                        (home, "it is your home directory"),
                        (seeded.cache, "it holds the metaflow-envs cache"),
                        (tmp_path, "it holds the metaflow-envs cache")):
        line = seeded.fails("create", "team/tiny:v1", "--prefix", str(target), "--force", env={"HOME": str(home)})
        assert "Refusing to create an environment at %s: %s" % (target, why) in line
    assert list(home.iterdir()) == [] and (tmp_path / "notes.txt").read_text() == "keep\n"
    assert sorted(str(p.relative_to(project)) for p in project.rglob("*")) == before
    # An empty directory becomes ours; what we made, --force re-creates.
    empty = tmp_path / "empty"
    empty.mkdir()
    seeded.run("create", "team/tiny:v1", "--prefix", str(empty), "-q")
    (empty / "leftover").write_text("x")
    seeded.run("create", "team/tiny:v1", "--prefix", str(empty), "--force", "-q")
    assert not (empty / "leftover").exists() and (empty / "bin" / "python").exists()


def test_an_interrupted_create_is_redone(seeded, tmp_path):
    prefix = tmp_path / "env"
    seeded.run("create", "team/tiny:v1", "--prefix", str(prefix), "-q")
    (prefix / ".metaflow-envs-complete").unlink()  # as if killed before the end
    (prefix / "bin" / "python").unlink()
    seeded.run("create", "team/tiny:v1", "--prefix", str(prefix), "-q")
    assert _run(prefix / "bin" / "python", "import tinyutil; print(tinyutil.__version__)") == "1.1.0"


def test_create_errors(seeded, tmp_path):
    assert "Invalid environment name 'bad name'" in seeded.fails("create", "team/tiny:v1", "--name", "bad name")
    assert "only one of --name and --prefix" in seeded.fails("create", "team/tiny:v1", "--name", "a", "--prefix", "b")
    # Names past what a file name may hold (with the '<name>.lock' beside it) are refused up front.
    long = "a" * 201
    for option, value in (("--name", long), ("--prefix", str(tmp_path / long)), ("--into-dir", str(tmp_path / long))):
        assert "given to %s is 201 bytes long: use at most 200" % option in seeded.fails("create", "team/tiny:v1",
                                                                                         option, value)
    assert seeded.run("create", "team/tiny:v1", "--name", "a" * 200, "-q").stdout.strip()
    assert "Unknown environment 'team/none:v1'" in seeded.fails("create", "team/none:v1")
    missing_run = "CodeFlow/999999/start"
    assert "Unknown environment '%s'" % missing_run in seeded.fails("create", missing_run, "--into-dir",
                                                                     str(tmp_path / "x"))
    (tmp_path / "file").write_text("x")
    assert "Refusing --into-dir %s: it is a file" % (tmp_path / "file") in seeded.fails(
        "create", "team/tiny:v1", "--into-dir", str(tmp_path / "file"))
    shared = tmp_path / "shared"  # as a /tmp/myenv someone else made first: anyone could swap the interpreter
    shared.mkdir()
    shared.chmod(0o777)
    for flag, start in (("--prefix", "Refusing to create an environment at"), ("--into-dir", "Refusing --into-dir")):
        assert "%s %s: it can be written to by other users (owner " % (start, shared) in seeded.fails(
            "create", "team/tiny:v1", flag, str(shared), "--force")
        assert list(shared.iterdir()) == []
    assert not (seeded.cache / "envs" / "linux-64").exists() or not any((seeded.cache / "envs" / "linux-64").iterdir())


def test_create_arch_and_local_only(seeded):
    python = seeded.run("create", "team/tiny:v1", "--arch", "linux-64", "--local-only", "-q").stdout.strip()
    assert python.endswith("/bin/python")
    assert "is for linux-64, not osx-arm64" in seeded.fails("create", "team/tiny:v1", "--arch", "osx-arm64")


def test_into_dir_python_runs_inside_the_environment_whatever_its_python_source(cli, tmp_path):
    """With the machine's Python the prefix is a virtualenv: `__conda_python` must still see
    its packages (a symlink to bin/python started the bare interpreter)."""
    (cli.root / "six.txt").write_text("six==1.16.0\n")
    system = {"METAFLOW_CONDA_PYTHON_SOURCE": "system"}
    cli.run("resolve", "-r", "six.txt", "--alias", "team/six-system:v1", "-q", env=system)
    into = tmp_path / "work"
    cli.run("create", "team/six-system:v1", "--into-dir", str(into), "-q", env=system)
    proc = subprocess.run([str(into / "__conda_python"), "-c", "import six, sys; print(six.__version__, sys.prefix)"],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    version, prefix = proc.stdout.split()
    assert version == "1.16.0" and prefix != sys.base_prefix


def test_unloadable_ca_certificates_name_the_settings_to_fix(seeded, tmp_path):
    """An empty SSL_CERT_FILE and SSL_CERT_DIR made rattler say only "builder error" (resolve)
    or panic (create)."""
    (tmp_path / "empty.pem").write_text("")
    (tmp_path / "no-certs").mkdir()
    bad_tls = {"SSL_CERT_FILE": str(tmp_path / "empty.pem"), "SSL_CERT_DIR": str(tmp_path / "no-certs")}
    (seeded.root / "env.yml").write_text("dependencies:\n  - tinyutil\n")
    for args in (("resolve", "-f", "env.yml", "--force", "--dry-run"), ("create", "team/tiny:v1")):
        error = seeded.fails(*args, env=bad_tls)
        assert "Could not set up HTTPS for Conda" in error and "SSL_CERT_FILE (%s)" % (tmp_path / "empty.pem") in error


def test_dry_run_prints_the_plan_that_create_then_follows(seeded, channel_server, tmp_path):
    pkgs = seeded.cache / "pkgs"
    for entry in pkgs.glob("*/*/*"):
        if entry.name.startswith(("tinyutil-2.0.0", "six-1.16.0")):
            shutil.rmtree(entry.parent)
    before = sorted(pkgs.rglob("*"))
    prefix = tmp_path / "env"

    plan = seeded.json("create", "team/tiny:v2", "--prefix", str(prefix), "--dry-run", "--json")
    assert (plan["prefix"], plan["action"], plan["why"]) == (str(prefix), "create", "it does not exist")
    assert plan["env_id"] == seeded.seed.ids["team/tiny:v2"]
    origin = {p["filename"] for p in plan["packages"] if p["source"] == "origin"}
    assert {p["name"] for p in plan["packages"] if p["source"] == "origin"} == {"tinyutil", "six"}
    assert {p["reason"] for p in plan["packages"]} == {"in the local cache", "missing locally (no datastore)"}
    assert not prefix.exists() and not Path(str(prefix) + ".lock").exists() and sorted(pkgs.rglob("*")) == before
    text = seeded.run("create", "team/tiny:v2", "--prefix", str(prefix), "--dry-run").stdout
    assert text.startswith("Would create %s (it does not exist):\n" % prefix)
    assert re.search(r"\n  origin +tinyutil +2\.0\.0 +conda +missing locally \(no datastore\)\n", text)
    assert "%d packages: %d from the local cache, 0 from the datastore, 2 from their origin." % (
        len(plan["packages"]), len(plan["packages"]) - 2) in text

    cached = {p.name for p in pkgs.glob("*/*/*")}
    mark = channel_server.mark()
    seeded.run("create", "team/tiny:v2", "--prefix", str(prefix), "-q")
    fetched = {r.path.rsplit("/", 1)[-1] for r in channel_server.requests_since(mark) if r.method == "GET"}
    assert fetched == {name for name in origin if not name.endswith(".whl")}  # six comes from pypi.org
    assert {p.name for p in pkgs.glob("*/*/*")} == cached | origin
    done = seeded.json("create", "team/tiny:v2", "--prefix", str(prefix), "--dry-run", "--json")
    assert (done["action"], done["packages"]) == ("nothing", [])
