"""The store scenarios every remote datastore must pass (S3, Azure Blob, GCS).

A test module runs them by defining a ``store_backend`` fixture (a running server with
``subprocess_env(prefix)``, ``keys(prefix)``, ``read(key)`` and ``write(key, data)``) and
``from .store_scenarios import *`` (which brings exactly the ``test_*`` functions below). Each store operation runs in a subprocess
(store_driver.py): Metaflow binds its datastore settings at import.
"""
import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any, Dict, List

import pytest

__all__ = [
    "test_publish_then_hydrate_a_cold_node", "test_aliases_immutable_and_mutable",
    "test_another_user_reuses_and_hydrates_a_published_environment", "test_two_publishers_at_once",
    "test_corrupted_object_is_detected", "test_a_bare_node_bootstraps_from_the_datastore_alone",
]

DRIVER = str(Path(__file__).with_name("store_driver.py"))
DEPS = json.dumps(["tinyutil", "chaina", "nativelib"])


def store_env(backend: Any, prefix: str, origin: Any, cache: Path, **extra: str) -> Dict[str, str]:
    """A 'machine': its own cache and index under ``cache``, the datastore under ``prefix``."""
    env = backend.subprocess_env(prefix)
    env.update({
        "METAFLOW_CONDA_CHANNEL_ALIAS": origin.url + "/",
        "METAFLOW_CONDA_CHANNELS": "conda-forge",
        "METAFLOW_CONDA_CACHE_DIR": str(cache),
        "METAFLOW_CONDA_PYTHON_SOURCE": "conda",
        "METAFLOW_CONDA_STORE_RETRIES": "3",
        "METAFLOW_ARTIFACT_LOCALROOT": str(cache),  # Metaflow's temp dirs, not the cwd
        "PYTHONPATH": str(Path(__file__).resolve().parents[2]),
    })
    env.update(extra)
    return env


def run_driver(env: Dict[str, str], *args: str, check: bool = True, timeout: int = 300) -> Any:
    proc = subprocess.run([sys.executable, DRIVER, *args], env=env, capture_output=True, text=True, timeout=timeout)
    if check:
        assert proc.returncode == 0, proc.stderr
        return json.loads(proc.stdout.strip().splitlines()[-1])
    return proc


def hydrate_args(env_id: Dict[str, str], prefix: Path) -> List[str]:
    return ["hydrate", env_id["req_id"], env_id["full_id"], env_id["arch"], str(prefix)]


def check_packages_intact(backend: Any, prefix: str) -> List[str]:
    """Every stored package's bytes match the sha256 its key names: nothing half-written."""
    keys = backend.keys(prefix)
    packages = [k for k in keys if "/packages/" in k]
    assert packages
    for key in packages:
        assert hashlib.sha256(backend.read(key)).hexdigest() == key.split("/")[-2], key
    return keys


def test_publish_then_hydrate_a_cold_node(store_backend, s3_prefix, origin, tmp_path):
    env_id = run_driver(store_env(store_backend, s3_prefix, origin, tmp_path / "a"), "publish", DEPS, "team/tiny:v1")
    keys = check_packages_intact(store_backend, s3_prefix)
    assert any(k.endswith("/%s/env.json" % env_id["full_id"]) for k in keys)
    assert any(k.endswith("aliases/generic/team/tiny:v1") for k in keys)
    # Another machine publishing the same request finds it all there.
    assert run_driver(store_env(store_backend, s3_prefix, origin, tmp_path / "b"), "publish", DEPS) == env_id
    assert store_backend.keys(s3_prefix) == keys

    node = store_env(store_backend, s3_prefix, origin, tmp_path / "node")
    origin.stop()  # a cold node: empty caches, no channel; only the datastore
    out = run_driver(node, *hydrate_args(env_id, tmp_path / "prefix"))
    info = subprocess.run([os.path.join(out["prefix"], "bin", "nativelib-info")], capture_output=True, text=True)
    assert info.stdout.strip() == "nativelib 1.2.0 linux-64"


def test_aliases_immutable_and_mutable(store_backend, s3_prefix, origin, tmp_path):
    alice = store_env(store_backend, s3_prefix, origin, tmp_path / "alice")
    bob = store_env(store_backend, s3_prefix, origin, tmp_path / "bob")
    env1 = run_driver(alice, "publish", json.dumps(["tinyutil=1.1"]), "team/tiny:v1")
    env2 = run_driver(alice, "publish", json.dumps(["tinyutil=2.0"]), "team/tiny:stable")
    ids2 = [env2["req_id"], env2["full_id"], env2["arch"]]

    refused = run_driver(alice, "alias", *ids2, "team/tiny:v1", check=False)
    assert refused.returncode == 1 and "Traceback" not in refused.stderr
    assert "team/tiny:v1' is immutable and already names environment %s" % env1["req_id"] in refused.stderr
    assert run_driver(bob, "lookup", "team/tiny:v1") == env1
    assert run_driver(bob, "lookup", "team/tiny:stable") == env2

    # A mutable tag moves; bob's index knew the old target but re-reads it from the datastore.
    run_driver(alice, "alias", env1["req_id"], env1["full_id"], env1["arch"], "team/tiny:stable")
    assert run_driver(bob, "lookup", "team/tiny:stable") == env1
    run_driver(alice, "alias", *ids2, "MyFlow/12/train")
    assert run_driver(bob, "lookup", "MyFlow/12/train/345") == env2


def test_another_user_reuses_and_hydrates_a_published_environment(store_backend, s3_prefix, origin, tmp_path):
    alice = store_env(store_backend, s3_prefix, origin, tmp_path / "alice", METAFLOW_USER="alice")
    env_id = run_driver(alice, "publish", DEPS)

    bob = store_env(store_backend, s3_prefix, origin, tmp_path / "bob", METAFLOW_USER="bob",
                    METAFLOW_CONDA_USE_REMOTE_LATEST="alice")
    origin.stop()  # bob cannot resolve: only reuse of alice's environment can succeed
    got = run_driver(bob, "resolve", DEPS)
    assert got == dict(env_id, resolved_by="alice")
    out = run_driver(bob, *hydrate_args(env_id, tmp_path / "prefix"))
    assert (Path(out["prefix"]) / ".metaflow-envs-complete").is_file()


def test_two_publishers_at_once(store_backend, s3_prefix, origin, tmp_path):
    procs = [
        subprocess.Popen([sys.executable, DRIVER, "publish", DEPS, "team/race:v1"],
                         env=store_env(store_backend, s3_prefix, origin, tmp_path / str(i)),
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for i in range(2)
    ]
    results = [(p.wait(timeout=300), p.stdout.read(), p.stderr.read()) for p in procs]
    for code, _out, err in results:
        assert code == 0 or "written concurrently" in err, err
    keys = check_packages_intact(store_backend, s3_prefix)
    alias = next(k for k in keys if k.endswith("aliases/generic/team/race:v1"))
    assert json.loads(store_backend.read(alias)) == json.loads(results[0][1].strip().splitlines()[-1])


def test_corrupted_object_is_detected(store_backend, s3_prefix, origin, tmp_path):
    env_id = run_driver(store_env(store_backend, s3_prefix, origin, tmp_path / "a"), "publish", DEPS)
    key = next(k for k in store_backend.keys(s3_prefix) if "/packages/conda/" in k and "tinyutil" in k)
    body = bytearray(store_backend.read(key))
    body[len(body) // 2] ^= 0x01
    store_backend.write(key, bytes(body))
    # With the origin up, the node falls back to it; without, it fails clearly.
    run_driver(store_env(store_backend, s3_prefix, origin, tmp_path / "n1"), *hydrate_args(env_id, tmp_path / "p1"))
    node = store_env(store_backend, s3_prefix, origin, tmp_path / "n2")
    origin.stop()
    proc = run_driver(node, *hydrate_args(env_id, tmp_path / "p2"), check=False)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert "Could not download" in proc.stderr and "tinyutil" in proc.stderr
    assert not (tmp_path / "p2").exists()


# What a node image holds for each datastore: Metaflow's client library for it (Metaflow itself
# and this extension come with the code package).
NODE_LIBRARIES = {
    "s3": ["boto3", "requests"],
    "azure": ["azure-storage-blob", "azure-identity", "requests"],
    "gs": ["google-cloud-storage", "google-auth", "requests"],
}
DEAD_PROXY = "http://127.0.0.1:9"


def _node_python(root: Path, datastore: str) -> Path:
    """A bare Python with the datastore's client library only (from PyPI)."""
    venv = root / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    uv = shutil.which("uv", path=os.path.dirname(sys.executable)) or shutil.which("uv")
    subprocess.run([uv, "pip", "install", "--quiet", "--python", str(venv / "bin" / "python"),
                    *NODE_LIBRARIES[datastore]], check=True, timeout=300,
                   env=dict(os.environ, UV_PYTHON_DOWNLOADS="never"))
    return venv / "bin" / "python"


def _code_package(root: Path) -> Path:
    """Metaflow and this extension, as a code package brings them to a node."""
    import metaflow

    code = root / "code"
    ignore = shutil.ignore_patterns("__pycache__")
    shutil.copytree(Path(metaflow.__file__).parent, code / "metaflow", ignore=ignore)
    shutil.copytree(Path(__file__).resolve().parents[2] / "metaflow_extensions", code / "metaflow_extensions",
                    ignore=ignore)
    return code


@pytest.mark.network  # PyPI: the node's datastore library and the node tools
def test_a_bare_node_bootstraps_from_the_datastore_alone(store_backend, s3_prefix, origin, tmp_path):
    """The remote bootstrap on a node that has a Python with the datastore's library, the code
    package and the datastore: tools and packages come from the datastore (channels stopped,
    every other host behind a dead proxy)."""
    launcher = store_env(store_backend, s3_prefix, origin, tmp_path / "launcher")
    datastore = launcher["METAFLOW_DEFAULT_DATASTORE"]
    run_driver(launcher, "publish", DEPS, "team/tiny:v1")
    run_driver(launcher, "tools", "linux-64", timeout=600)
    origin.stop()

    node = tmp_path / "node"
    python, code = _node_python(node, datastore), _code_package(node)
    env = store_backend.subprocess_env(s3_prefix)
    env.update({
        "HOME": str(node / "home"), "PYTHONPATH": str(code), "METAFLOW_CONDA_CACHE_DIR": str(node / "cache"),
        "METAFLOW_ENVS_TOOLS_DIR": str(node / "tools"), "PATH": "/usr/bin:/bin",
        "HTTP_PROXY": DEAD_PROXY, "HTTPS_PROXY": DEAD_PROXY, "http_proxy": DEAD_PROXY, "https_proxy": DEAD_PROXY,
        "NO_PROXY": "127.0.0.1,localhost", "no_proxy": "127.0.0.1,localhost",
    })
    proc = subprocess.run(
        [str(python), "-m", "metaflow_extensions.envs.plugins.envs.integration.bootstrap", "--datastore", datastore,
         "--prefix-dir", str(node / "envs"), "--step", "start", "--name", "team/tiny:v1", "--arch", "linux-64"],
        cwd=str(code), env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    assert "fetching tools for linux-64" in proc.stderr and any((node / "tools").glob("rattler*"))
    info = subprocess.run([str(node / "envs" / "start" / "bin" / "nativelib-info")], capture_output=True, text=True)
    assert info.stdout.strip() == "nativelib 1.2.0 linux-64"
