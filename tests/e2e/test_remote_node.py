"""A @kubernetes step run on a simulated bare remote node, with the commands Metaflow emits.

1. The launcher compiles tests/e2e/flows/remote_node_flow.py WITHOUT a cluster:
   `python flow.py --environment=conda --datastore=s3 argo-workflows create --only-json`
   (S3 = the SeaweedFS fixture). That runs our init_environment: the `start` environment is
   resolved for linux-64 (from a channel server of its own) and published to S3 with the
   node tools; the printed WorkflowTemplate holds each step's real container command/env.
2. The channel server is stopped: from now on only the datastore exists.
3. The `start` container runs on a "node": a fresh work dir, HOME and package cache, a bare
   Python (a venv with only boto3 and requests: what Metaflow's own command would pip
   install; Metaflow and this extension come from the code package the command downloads),
   every non-loopback HTTP(S) request sent to a dead proxy, the Argo `{{...}}` placeholders
   filled in and `/mnt/out` (the pod's output emptyDir) private to the node; its image sets
   a PYTHONPATH and an LD_LIBRARY_PATH of its own (node_image), which must shadow nothing. The command
   downloads the code package, runs our bootstrap (tools from S3, then hydration), creates
   the `_parameters` task and runs the step with the environment's interpreter.
4. The step's output and its artifact (read back with the Metaflow client) prove where it ran.

Metaflow binds its S3 settings at import (see tests/fixtures/s3.py): everything Metaflow
does here runs in subprocesses.
"""
import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Dict, List, Optional, Sequence

import pytest

from tests.fixtures.servers import StaticFileServer

from .uv_project import copy_flow, lock_project, serve_index_copy

pytestmark = [pytest.mark.network,  # PyPI: six (and Metaflow's boto3/requests) + the node tools
              pytest.mark.xdist_group("remote-node")]  # one worker deploys and starts the node once

FLOW = Path(__file__).with_name("flows") / "remote_node_flow.py"
FLOW_NAME = "RemoteNodeFlow"
UV_FLOW = FLOW.with_name("remote_uv_flow.py")
WORKFLOW_NAME = "test-1"  # {{workflow.name}}: the run id is argo-test-1
RUN_ID = "argo-" + WORKFLOW_NAME
CREATED = "2026-01-01T00:00:00Z"  # {{workflow.creationTimestamp}}
BOOTSTRAP = "python -m metaflow_extensions.envs.plugins.envs.integration.bootstrap"
# What the kubelet fills in for the downward-API variables (fieldRef) of the pod spec.
FIELD_REFS = {
    "metadata.namespace": "default",
    "metadata.name": "remotenodeflow-test-1-start",
    "metadata.uid": str(uuid.UUID(int=1)),
    "spec.serviceAccountName": "default",
    "status.hostIP": "127.0.0.1",
}
DEAD_PROXY = "http://127.0.0.1:9"


# ------------------------------------------------------------------ launcher side
def _deploy(s3_server, conda_channels_dir, launcher: Path, flow: Path, environment: str, also_stop=()):
    """`argo-workflows create --only-json` of `flow` with an S3 datastore; its channel server
    (and every server of `also_stop`) is gone once this returns."""
    prefix = "tests/remote-node-%s" % secrets.token_hex(4)
    channel = StaticFileServer(conda_channels_dir).start()
    channel_url = channel.url
    try:
        env = s3_server.subprocess_env(prefix)
        env.update({
            "METAFLOW_CONDA_CHANNEL_ALIAS": channel_url + "/",
            "METAFLOW_CONDA_CHANNELS": "conda-forge",
            "METAFLOW_CONDA_CACHE_DIR": str(launcher / "cache"),
            "METAFLOW_ARTIFACT_LOCALROOT": str(launcher / "cache"),
            "METAFLOW_HOME": str(launcher / "home"),  # no ~/.metaflowconfig profile
            "USERNAME": "tester",
        })
        proc = subprocess.run(
            [sys.executable, str(flow), "--no-pylint", "--environment=" + environment, "--datastore=s3",
             "argo-workflows", "create", "--only-json"],
            cwd=str(launcher), env=env, capture_output=True, text=True, timeout=300)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert channel.requests, "the launcher resolved without the channel?"
    finally:
        for server in (channel,) + tuple(also_stop):
            server.stop()
    workflow = json.loads(proc.stdout[proc.stdout.index("{"):])
    templates = {t["name"]: t for t in workflow["spec"]["templates"] if t.get("container")}
    return {"prefix": prefix, "templates": templates, "log": proc.stderr, "channel_url": channel_url}


@pytest.fixture(scope="module")
def deployment(s3_server, conda_channels_dir, tmp_path_factory):
    return _deploy(s3_server, conda_channels_dir, tmp_path_factory.mktemp("launcher"), FLOW, "conda")


@pytest.fixture(scope="module")
def uv_deployment(s3_server, conda_channels_dir, pypi_index, tmp_path_factory):
    """The uv project's flow (mfenvs-alpha locked at 1.0.0, 2.0.0 on the index since), deployed
    with --environment=uv; its index is stopped with the channel."""
    root = tmp_path_factory.mktemp("uv-index") / "index"
    index = serve_index_copy(pypi_index.root, root)
    project = tmp_path_factory.mktemp("uv-project") / "project"
    try:
        lock_project(project, root, index.url, ["mfenvs-alpha", "requests>=2.21.0", "boto3>=1.14.0"])
    except BaseException:
        index.stop()
        raise
    return _deploy(s3_server, conda_channels_dir, tmp_path_factory.mktemp("launcher"),
                   copy_flow(UV_FLOW, project), "uv", also_stop=(index,))


# ------------------------------------------------------------------ node side
def _private_mnt_out(out_dir: Path) -> Optional[List[str]]:
    """A command prefix giving the node its own /mnt/out (Argo mounts an emptyDir there; the
    argo_workflows_internal decorator writes the task id into it), bound to `out_dir`.
    None when this machine allows no mount namespace and /mnt/out is not usable as is."""
    setup = 'mount -t tmpfs none /mnt && mkdir /mnt/out && mount --bind "$MFENVS_NODE_OUT" /mnt/out && exec "$@"'
    for unshare in (["unshare", "-m", "--propagation", "private"], ["unshare", "-r", "-m", "--propagation", "private"]):
        if shutil.which(unshare[0]) is None:
            break
        prefix = unshare + ["bash", "-c", setup, "node"]
        probe = subprocess.run(prefix + ["test", "-w", "/mnt/out"], env=dict(os.environ, MFENVS_NODE_OUT=str(out_dir)),
                               capture_output=True, timeout=30)
        if probe.returncode == 0:
            return prefix
    try:
        os.makedirs("/mnt/out", exist_ok=True)
        return [] if os.access("/mnt/out", os.W_OK) else None
    except OSError:
        return None


def _fill(text: str, values: Dict[str, str]) -> str:
    for key, value in values.items():
        text = text.replace(key, value)
    return text


def node_image(root: Path) -> Dict[str, str]:
    """What a node image of its own sets: a PYTHONPATH folder with a `six` of its own, a
    site-packages folder on PYTHONPATH, and a library folder on LD_LIBRARY_PATH holding its
    own libpython (a copy of this interpreter's, when it is a shared library, as the
    environment's python is)."""
    import sysconfig

    (root / "pylib").mkdir(parents=True)
    import six  # the image's Python uses its own six (boto3 needs it): a working copy, marked

    (root / "pylib" / "six.py").write_text(Path(six.__file__).read_text() + '\n__version__ = "0.0-from-the-image"\n')
    (root / "python" / "site-packages").mkdir(parents=True)
    (root / "lib").mkdir()
    if sysconfig.get_config_var("Py_ENABLE_SHARED"):
        for so in Path(sysconfig.get_config_var("LIBDIR")).glob("libpython3*.so*"):
            shutil.copy2(str(so), str(root / "lib" / so.name))
    return {"PYTHONPATH": os.pathsep.join([str(root / "pylib"), str(root / "python" / "site-packages")]),
            "LD_LIBRARY_PATH": str(root / "lib")}


def node_dirs(root: Path) -> Dict[str, Path]:
    """A node's own folders: its work dir, HOME, package cache, output files and /tmp."""
    dirs = {name: root / name for name in ("work", "home", "cache", "out", "tmp")}
    for path in dirs.values():
        path.mkdir(parents=True)
    return dirs


def run_node_script(script: str, variables: Dict[str, str], prefix: str, s3_server, node_python, dirs,
                    image: Optional[Dict[str, str]] = None, wrapper: Sequence[str] = ()):
    """Run a container's `bash -c` script on a bare node: the container's `variables` (its
    placeholders filled in) over the node image's, the node's own dirs, only loopback reachable."""
    env = {"PATH": os.pathsep.join([str(node_python / "bin"), "/usr/local/bin", "/usr/bin", "/bin"]),
           "HOME": str(dirs["home"]), "LANG": "C.UTF-8", "MFENVS_NODE_OUT": str(dirs["out"]), **(image or {})}
    env.update(variables)
    # Credentials (a Kubernetes secret or an IAM role would provide them) and the suite's S3 retry settings.
    for key, value in s3_server.metaflow_env(prefix).items():
        env.setdefault(key, value)
    for key in ("METAFLOW_DATASTORE_SYSROOT_S3", "METAFLOW_S3_ENDPOINT_URL", "METAFLOW_DEFAULT_DATASTORE"):
        assert env[key] == s3_server.metaflow_env(prefix)[key], key  # emitted by Metaflow
    env.update({
        # The launcher's cache dir travels in the emitted env (Metaflow forwards every
        # METAFLOW_CONDA_* setting): a node has its own, empty.
        "METAFLOW_CONDA_CACHE_DIR": str(dirs["cache"]),
        "METAFLOW_HOME": str(dirs["home"] / ".metaflowconfig"),
        # boto3 and requests are in the image already (Metaflow's `pip install boto3 requests`).
        "METAFLOW_SKIP_INSTALL_DEPENDENCIES": "1",
        # Nothing but loopback (the datastore) is reachable from the node.
        "HTTP_PROXY": DEAD_PROXY, "HTTPS_PROXY": DEAD_PROXY, "http_proxy": DEAD_PROXY,
        "https_proxy": DEAD_PROXY, "NO_PROXY": "127.0.0.1,localhost", "no_proxy": "127.0.0.1,localhost",
    })
    return subprocess.run(list(wrapper) + ["bash", "-c", script], cwd=str(dirs["work"]), env=env,
                          capture_output=True, text=True, timeout=300)


def run_on_node(deployment, s3_server, node_python, step: str, root: Path, input_paths: str = "",
                image: Optional[Dict[str, str]] = None):
    """Run the Argo container of `step` as the pod would, with the variables of its `image`:
    returns (process, node dirs)."""
    container = deployment["templates"][step]["container"]
    assert container["command"][:2] == ["bash", "-c"] and not container.get("args"), container["command"]
    dirs = node_dirs(root)
    values = {
        "{{workflow.name}}": WORKFLOW_NAME,
        "{{workflow.creationTimestamp}}": CREATED,
        "{{inputs.parameters.input-paths}}": input_paths,
        "{{retries}}": "0",
        # A pod's /tmp is its own: so is this file (steps append their input paths to it).
        "/tmp/mf-input-paths": str(dirs["tmp"] / "mf-input-paths"),
    }
    script = _fill(container["command"][2], values)
    assert not re.findall(r"\{\{[^}]*\}\}", script), "unfilled Argo placeholders"
    variables = {}
    for var in container.get("env") or []:
        if var.get("value") is not None or not var.get("valueFrom"):
            variables[var["name"]] = _fill(var.get("value") or "", values)
        else:
            variables[var["name"]] = FIELD_REFS[var["valueFrom"]["fieldRef"]["fieldPath"]]
    wrapper = _private_mnt_out(dirs["out"])
    if wrapper is None:
        pytest.skip("needs a mount namespace (unshare) or a writable /mnt/out for Argo's output files")
    proc = run_node_script(script, variables, deployment["prefix"], s3_server, node_python, dirs, image, wrapper)
    return proc, dirs


@pytest.fixture(scope="module")
def start_on_node(deployment, s3_server, node_python, tmp_path_factory):
    root = tmp_path_factory.mktemp("node-start")
    proc, dirs = run_on_node(deployment, s3_server, node_python, "start", root, image=node_image(root / "image"))
    dirs["image"] = root / "image"
    return proc, dirs


def _client(s3_server, deployment, cwd: Path, code: str):
    """The Metaflow client in a subprocess (S3 binds at import); `cwd` holds the local metadata."""
    env = s3_server.subprocess_env(deployment["prefix"])
    env.update({"METAFLOW_HOME": str(cwd / ".mfhome"), "METAFLOW_DEFAULT_METADATA": "local", "USERNAME": "tester"})
    proc = subprocess.run([sys.executable, "-c", code], cwd=str(cwd), env=env, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


# ------------------------------------------------------------------ tests
def test_emitted_commands_bootstrap_then_run_with_the_environment_python(deployment, s3_server):
    script = deployment["templates"]["start"]["container"]["command"][2]
    assert "Resolving 1 environment for %s" % FLOW_NAME in deployment["log"]
    # Our bootstrap runs after the code package is extracted, before any Metaflow command of the
    # step, and every command of the step (the _parameters `init` too) uses the env's python.
    boot = script.index(BOOTSTRAP)
    assert script.index("tar -xzf job.tar") < boot
    assert re.search(r"'--env-id' '[0-9a-f]+:[0-9a-f]+:linux-64'", script)
    commands = re.findall(r"(\S+(?: -s)?) remote_node_flow\.py", script)
    assert commands and set(commands) == {"metaflow_envs/start/bin/python -s"}, commands
    assert all(script.index(c) > boot for c in ("remote_node_flow.py dump", " init --run-id", " step start "))
    # The `end` step asks for no environment: no bootstrap, the image's python.
    end = deployment["templates"]["end"]["container"]["command"][2]
    assert BOOTSTRAP not in end and "python remote_node_flow.py" in end

    # What init_environment published: the lock and the node tools, in the datastore only.
    client = s3_server.boto3_client()
    keys = [o["Key"] for page in client.get_paginator("list_objects_v2").paginate(
        Bucket=s3_server.bucket, Prefix=deployment["prefix"] + "/conda_env/") for o in page.get("Contents", [])]
    assert any(re.search(r"/envs/linux-64/[0-9a-f]+/[0-9a-f]+/env\.json$", k) for k in keys), keys
    manifest_key = "%s/conda_env/tools/linux-64/manifest.json" % deployment["prefix"]
    manifest = json.loads(client.get_object(Bucket=s3_server.bucket, Key=manifest_key)["Body"].read())
    names = {w["name"] for w in manifest["wheels"]}
    assert {"py-rattler", "uv", "filelock", "packaging"} <= names, names
    assert all(any(k.endswith("/%s/%s" % (w["sha256"], w["filename"])) for k in keys) for w in manifest["wheels"])


def test_start_step_runs_in_its_environment_on_a_bare_node(start_on_node, deployment, s3_server):
    proc, dirs = start_on_node
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output
    assert "fetching tools for linux-64" in proc.stderr  # a cold node: nothing local
    probe = json.loads(re.search(r"^REMOTE-NODE-PROBE (.*)$", proc.stdout, re.M).group(1))
    prefix = dirs["work"] / "metaflow" / "metaflow_envs" / "start"
    assert probe["executable"] == str(prefix / "bin" / "python"), probe
    assert probe["prefix"] == str(prefix)
    assert probe["tinyutil"] == "1.1.0"
    assert probe["six"]
    assert probe["nativelib_info"].startswith("nativelib ") and probe["nativelib_info"].endswith(" linux-64")
    # The packages came from the datastore into the node's own (fresh) cache.
    assert any(p.name.startswith("tinyutil-1.1.0") for p in dirs["cache"].rglob("*")), "cache not used"

    task_id = (dirs["out"] / "task_id").read_text().strip()
    data = _client(s3_server, deployment, dirs["work"] / "metaflow", (
        "import json\n"
        "from metaflow import Task, namespace\n"
        "namespace(None)\n"
        "task = Task('%s/%s/start/%s')\n"
        "print(json.dumps({'ok': task.successful, 'probe': task.data.probe}))\n") % (FLOW_NAME, RUN_ID, task_id))
    assert data["ok"] is True
    assert data["probe"] == probe
    # The node recorded `Flow/run/step` as a name of the environment it ran in.
    client = s3_server.boto3_client()
    alias_keys = [o["Key"] for page in client.get_paginator("list_objects_v2").paginate(
        Bucket=s3_server.bucket, Prefix=deployment["prefix"]) for o in page.get("Contents", [])
        if o["Key"].endswith("aliases/pathspec/%s/%s/start" % (FLOW_NAME, RUN_ID))]
    assert len(alias_keys) == 1


def test_end_step_without_environment_runs_with_the_node_python(start_on_node, deployment, s3_server, node_python,
                                                                tmp_path):
    start_proc, start_dirs = start_on_node
    assert start_proc.returncode == 0, start_proc.stderr
    task_id = (start_dirs["out"] / "task_id").read_text().strip()
    proc, _dirs = run_on_node(deployment, s3_server, node_python, "end", tmp_path / "node",
                              input_paths="%s/start/%s" % (RUN_ID, task_id))
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_uv_project_runs_in_its_locked_versions_on_a_bare_node(uv_deployment, s3_server, node_python, tmp_path):
    """--environment=uv: the node hydrates the uv.lock's environment from the datastore alone
    (no index, no uv download: the index server is stopped and only loopback is reachable)."""
    script = uv_deployment["templates"]["start"]["container"]["command"][2]
    assert BOOTSTRAP in script and "metaflow_envs/start/bin/python -s" in script
    proc, dirs = run_on_node(uv_deployment, s3_server, node_python, "start", tmp_path / "node")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    probe = json.loads(re.search(r"^REMOTE-NODE-PROBE (.*)$", proc.stdout, re.M).group(1))
    assert probe["executable"] == str(dirs["work"] / "metaflow" / "metaflow_envs" / "start" / "bin" / "python")
    assert probe["mfenvs_alpha"] == "1.0.0"  # as locked, though 2.0.0 was on the index
    assert probe["boto3"]


def test_the_image_shadows_nothing_of_the_environment(start_on_node):
    """The node image's PYTHONPATH and LD_LIBRARY_PATH are cleaned as the reference extension
    cleans them (bootstrap.node_exports): its own module folder dropped, its site-packages
    kept, the environment's lib/ before the image's libraries, the originals kept aside."""
    proc, dirs = start_on_node
    assert proc.returncode == 0, proc.stdout + proc.stderr
    probe = json.loads(re.search(r"^REMOTE-NODE-PROBE (.*)$", proc.stdout, re.M).group(1))
    image, prefix = dirs["image"], dirs["work"] / "metaflow" / "metaflow_envs" / "start"
    assert probe["six"] != "0.0-from-the-image"  # the environment's six, not the image's
    variables = probe["variables"]
    code, site = variables["PYTHONPATH"].split(os.pathsep)  # the code package Metaflow put first, site-packages
    assert code.startswith(str(dirs["work"] / "metaflow")) and site == str(image / "python" / "site-packages")
    assert str(image / "pylib") in variables["MF_ORIG_PYTHONPATH"]
    assert variables["LD_LIBRARY_PATH"].split(os.pathsep) == [str(prefix / "lib"), str(image / "lib")]
    assert variables["MF_ORIG_LD_LIBRARY_PATH"] == str(image / "lib")
    # The interpreter's own libpython is the environment's, not the image's copy.
    assert all(path.startswith(str(prefix) + "/") for path in probe["libpython"]), probe["libpython"]
    if list((image / "lib").glob("libpython*")):
        assert probe["libpython"], "a shared-library interpreter maps a libpython"


def test_a_deployed_flow_needs_no_lock_or_alias_from_the_datastore(deployment, s3_server, node_python, tmp_path):
    """The code package carries the steps' locks (as the reference's `conda_v2.cnd`): with every
    lock (envs/) and alias (aliases/) gone from the datastore, the node still hydrates the step,
    from the datastore's packages alone. The objects are put back afterwards for the other tests."""
    client = s3_server.boto3_client()
    store = deployment["prefix"] + "/conda_env/"
    removed = {}
    for folder in ("envs/", "aliases/"):
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=s3_server.bucket, Prefix=store + folder):
            for obj in page.get("Contents", []):
                removed[obj["Key"]] = client.get_object(Bucket=s3_server.bucket, Key=obj["Key"])["Body"].read()
    assert any("/envs/linux-64/" in key for key in removed), list(removed)
    for key in removed:
        client.delete_object(Bucket=s3_server.bucket, Key=key)
    try:
        proc, dirs = run_on_node(deployment, s3_server, node_python, "start", tmp_path / "node")
        assert proc.returncode == 0, proc.stdout + proc.stderr
        probe = json.loads(re.search(r"^REMOTE-NODE-PROBE (.*)$", proc.stdout, re.M).group(1))
        assert probe["tinyutil"] == "1.1.0" and probe["six"]
        left = [o["Key"] for page in client.get_paginator("list_objects_v2").paginate(
            Bucket=s3_server.bucket, Prefix=store + "envs/") for o in page.get("Contents", [])]
        assert left == []  # the node read no lock from the datastore, and wrote none
    finally:
        for key, body in removed.items():
            client.put_object(Bucket=s3_server.bucket, Key=key, Body=body)


def test_a_datastore_that_caches_no_environment_is_refused_for_remote_steps(s3_server, tmp_path):
    """METAFLOW_CONDA_IGNORE_CACHING_DATASTORES naming the flow's datastore: a node could not
    hydrate (it reads only the datastore), so the deployment stops naming the setting, before
    anything is resolved or published."""
    prefix = "tests/remote-ignored-%s" % secrets.token_hex(4)
    env = s3_server.subprocess_env(prefix)
    env.update({"METAFLOW_CONDA_IGNORE_CACHING_DATASTORES": "local,s3", "METAFLOW_HOME": str(tmp_path / "home"),
                "METAFLOW_CONDA_CACHE_DIR": str(tmp_path / "cache"), "USERNAME": "tester"})
    proc = subprocess.run([sys.executable, str(FLOW), "--no-pylint", "--environment=conda", "--datastore=s3",
                           "argo-workflows", "create", "--only-json"], cwd=str(tmp_path), env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode != 0 and "Traceback" not in proc.stderr, proc.stderr
    assert ("Step start runs on other machines, which hydrate environments from the s3 datastore, but "
            "METAFLOW_CONDA_IGNORE_CACHING_DATASTORES keeps environments out of it: remove 's3'") in proc.stderr
    assert "Resolving" not in proc.stderr and not s3_server.keys(prefix)
