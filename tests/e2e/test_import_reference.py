"""`metaflow environment import-reference`: environments a team resolved with the reference
extension (stored in its layout, written here by tests/fixtures/reference_store.py from
packages of the test channel and index) are imported through the real CLI and run by
`@named_env(name=...)` without being resolved again: locally (local datastore) and, from S3,
on a simulated bare node (the machinery of test_remote_node.py)."""
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Dict

import pytest

from tests.cli.conftest import METAFLOW, assert_one_line_error
from tests.fixtures.reference_store import description_bytes, reference_store_objects
from tests.fixtures.servers import StaticFileServer

from .conftest import FLOWS, patched_environ
from .test_remote_node import DEAD_PROXY, run_on_node

pytestmark = pytest.mark.network  # the environments hold Metaflow's needs from PyPI

DEAD = "http://127.0.0.1:9/"  # no channel, no index: nothing may be resolved again


def _reference(engine_env, env, aliases):
    from metaflow_extensions.envs.plugins.envs.plumbing.cache import PackageCache

    with patched_environ(engine_env):
        return reference_store_objects(env, PackageCache(), aliases)


def _write_tree(root: Path, objects: Dict[str, bytes]) -> None:
    for key, data in objects.items():
        path = root / key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)


def _import(env: Dict[str, str], cwd: Path, *args: str, ok: bool = True) -> subprocess.CompletedProcess:
    cmd = METAFLOW + ["environment", "import-reference", *args]
    proc = subprocess.run(cmd, cwd=str(cwd), env=env, capture_output=True, text=True, timeout=300)
    if ok:
        assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc


def _local_env(flows, tmp_path: Path) -> Dict[str, str]:
    """The flows' settings with a cache of its own (empty: the import fills it), the
    reference's store root in a folder of the test, and no channel or index to fetch from."""
    return dict(flows.env, METAFLOW_CONDA_CACHE_DIR=str(tmp_path / "cache"),
                METAFLOW_CONDA_LOCALROOT=str(tmp_path / "reference-root"), METAFLOW_DEFAULT_DATASTORE="local",
                METAFLOW_DEFAULT_METADATA="local", METAFLOW_CONDA_CHANNEL_ALIAS=DEAD,
                METAFLOW_CONDA_DEFAULT_PYPI_SOURCE=DEAD + "simple")


def test_imported_alias_runs_in_a_local_flow_without_resolving(flows, named_envs, engine_env, tmp_path):
    # The alias run_named_flow.py runs; this test's cache (and so its local index) is its own.
    objects, _ = _reference(engine_env, named_envs["v1"], ["team/tiny:v1"])
    # An alias of an environment the reference resolved for another architecture only.
    objects["envs-1/aliases/generic/team/mac/v1"] = json.dumps(["3" * 40, "4" * 40]).encode()
    _write_tree(tmp_path / "reference-root", objects)
    env = _local_env(flows, tmp_path)
    proc = _import(env, flows.root)  # every alias of the store
    assert "Skipped team/mac:v1: it names no environment for linux-64" in proc.stderr, proc.stderr
    assert len(proc.stdout.splitlines()) == 1, proc.stdout
    assert re.search(r"^team/tiny:v1 -> [0-9a-f]{40}:[0-9a-f]{40} \(linux-64\) "
                     r"\(reference [0-9a-f]{40}:[0-9a-f]{40}\)$", proc.stdout, re.M), proc.stdout

    # Nothing to resolve or download from (dead channel and index): the step runs from the import.
    result = flows.run("run_named_flow.py", env={k: env[k] for k in (
        "METAFLOW_CONDA_CACHE_DIR", "METAFLOW_CONDA_CHANNEL_ALIAS", "METAFLOW_CONDA_DEFAULT_PYPI_SOURCE")}).check()
    start = flows.read("RunNamedFlow/%s" % result.run_id)["steps"]["start"][0]
    probe = start["probe"]
    assert probe["prefix"].startswith(env["METAFLOW_CONDA_CACHE_DIR"]), probe["prefix"]
    assert probe["modules"]["tinyutil"]["version"] == "1.1.0"
    assert start["conda_env_id"] and start["conda_env_id"] in proc.stdout.replace(" (", ":").replace(")", "")

    line = assert_one_line_error(_import(env, flows.root, "--alias", "team/tiny:v9", ok=False))
    assert "No alias 'team/tiny:v9' in the reference's store at %s" % env["METAFLOW_CONDA_LOCALROOT"] in line, line
    # Importing again changes nothing (the alias is immutable and names the same environment).
    assert _import(env, flows.root, "--alias", "team/tiny:v1").stdout == proc.stdout


@pytest.mark.parametrize("tamper, expected", [
    ("content", r"does not match the hash the reference recorded for it"),
    ("filename", r"'\.\./\.\./evil\.(conda|tar\.bz2)', which is not a plain file name"),
    ("file_url", r"URL 'file:///etc/evil\.conda', a local file outside the local channels configured here"),
])
def test_hostile_reference_store_is_refused_with_one_message(flows, named_envs, engine_env, tmp_path, tamper,
                                                              expected):
    objects, description = _reference(engine_env, named_envs["bare"], ["ref/bad:v1"])
    conda = next(p for p in description["packages"] if p["filename"].startswith("tinyutil-"))
    if tamper == "content":
        key = next(iter(conda["cache_info"].values()))["url"]
        objects[key] = objects[key] + b"tampered"
    elif tamper == "filename":
        conda["filename"] = "../../evil"
    else:
        conda["url"] = "file:///etc/evil.conda"
    objects[description["_key"]] = description_bytes(description)
    _write_tree(tmp_path / "reference-root", objects)
    env = _local_env(flows, tmp_path)

    line = assert_one_line_error(_import(env, flows.root, ok=False))
    assert re.search(expected, line), line
    assert "tinyutil-" in line or "evil" in line  # it names the package
    # Nothing half-imported: the alias names nothing, here or in the local index.
    show = subprocess.run(METAFLOW + ["environment", "show", "ref/bad:v1"], cwd=str(flows.root), env=env,
                          capture_output=True, text=True, timeout=120)
    assert show.returncode != 0 and "Unknown environment 'ref/bad:v1'" in show.stderr, show.stderr
    assert not list((tmp_path / "cache").rglob("evil*"))


# ------------------------------------------------------------------ S3 and a bare node
REMOTE_FLOW = FLOWS / "remote_imported_flow.py"


@pytest.fixture(scope="module")
def s3_task_env(engine_env):
    """tinyutil 1.1.0 with what Metaflow needs in a task using S3 (boto3 too), as a team's
    reference environment for remote steps holds."""
    from metaflow.metaflow_config import get_pinned_conda_libs

    from metaflow_extensions.envs.plugins.envs.environments import Environments
    from metaflow_extensions.envs.plugins.envs.spec.model import CondaDep, EnvSpec, PypiDep

    pins = get_pinned_conda_libs(None, "s3")
    spec = EnvSpec(conda_deps=(CondaDep.parse("tinyutil==1.1.0"),), platform="linux-64",
                   pypi_deps=tuple(PypiDep.parse(name + pin) for name, pin in sorted(pins.items())))
    with patched_environ(engine_env):
        return Environments().resolve(spec)


def test_imported_from_s3_runs_on_a_bare_node(s3_task_env, engine_env, s3_server, node_python,
                                               conda_channels_dir, tmp_path):
    prefix = "tests/import-reference-%s" % tmp_path.name[-12:].replace("_", "-")
    objects, _ = _reference(engine_env, s3_task_env, ["ref/tiny:v1", "ref/tiny:stable"])
    for key, data in objects.items():  # the reference's root defaults to <sysroot>/conda_env, as ours
        s3_server.write("%s/conda_env/%s" % (prefix, key), data)
    launcher = tmp_path / "launcher"
    launcher.mkdir()
    env = s3_server.subprocess_env(prefix)
    env.update({"METAFLOW_CONDA_CACHE_DIR": str(launcher / "cache"), "METAFLOW_HOME": str(launcher / "home"),
                "USERNAME": "tester", "METAFLOW_CONDA_CHANNEL_ALIAS": DEAD, "METAFLOW_CONDA_CHANNELS": "conda-forge",
                "METAFLOW_CONDA_PYTHON_SOURCE": "conda", "METAFLOW_ARTIFACT_LOCALROOT": str(launcher / "cache")})
    proc = _import(env, launcher)  # every alias of the store
    lines = sorted(proc.stdout.splitlines())
    assert [line.split(" ")[0] for line in lines] == ["ref/tiny:stable", "ref/tiny:v1"], proc.stdout
    env_id = lines[1].split(" ")[2]

    # Our store now holds the lock and the alias (the reference's objects are untouched).
    ours = s3_server.keys(prefix + "/conda_env/")
    req_id, full_id = env_id.split(":")
    assert "%s/conda_env/envs/linux-64/%s/%s/env.json" % (prefix, req_id, full_id) in ours
    alias = json.loads(s3_server.read("%s/conda_env/aliases/generic/ref/tiny:v1" % prefix))
    assert alias == {"req_id": req_id, "full_id": full_id, "arch": "linux-64"}
    assert all(s3_server.read("%s/conda_env/%s" % (prefix, k)) == v for k, v in objects.items())

    # Deploy (the launcher resolves nothing: the channel is dead), then run `start` on a bare node.
    deploy = subprocess.run([sys.executable, str(REMOTE_FLOW), "--no-pylint", "--environment=conda",
                             "--datastore=s3", "argo-workflows", "create", "--only-json"],
                            cwd=str(launcher), env=env, capture_output=True, text=True, timeout=300)
    assert deploy.returncode == 0, deploy.stdout + deploy.stderr
    workflow = json.loads(deploy.stdout[deploy.stdout.index("{"):])
    templates = {t["name"]: t for t in workflow["spec"]["templates"] if t.get("container")}
    node, dirs = run_on_node({"prefix": prefix, "templates": templates}, s3_server, node_python, "start",
                             tmp_path / "node")
    assert node.returncode == 0, node.stdout + node.stderr
    probe = json.loads(re.search(r"^IMPORTED-PROBE (.*)$", node.stdout, re.M).group(1))
    assert probe["tinyutil"] == "1.1.0"
    assert probe["prefix"] == str(dirs["work"] / "metaflow" / "metaflow_envs" / "start")
    assert any(p.name.startswith("tinyutil-1.1.0") for p in dirs["cache"].rglob("*")), "not from the datastore"
