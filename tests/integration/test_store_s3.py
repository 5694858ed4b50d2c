"""The store on a real S3 server (SeaweedFS on 127.0.0.1), with faults from a proxy.

Each store operation runs in a subprocess: Metaflow binds its S3 endpoint at import.
"""
import hashlib
import json
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from tests.fixtures.servers import StaticFileServer

DRIVER = str(Path(__file__).with_name("store_driver.py"))
DEPS = json.dumps(["tinyutil", "chaina", "nativelib"])


@pytest.fixture
def origin(conda_channels_dir):
    server = StaticFileServer(conda_channels_dir)
    server.start()
    yield server
    server.stop()


def _env(endpoint, prefix, origin, cache, **extra):
    env = endpoint.subprocess_env(prefix)
    env.update({
        "METAFLOW_CONDA_CHANNEL_ALIAS": origin.url + "/",
        "METAFLOW_CONDA_CHANNELS": "conda-forge",
        "METAFLOW_CONDA_CACHE_DIR": str(cache),
        "METAFLOW_CONDA_PYTHON_SOURCE": "conda",
        "METAFLOW_CONDA_STORE_RETRIES": "3",
        "METAFLOW_ARTIFACT_LOCALROOT": str(cache),  # Metaflow's S3 temp dirs, not the cwd
        "PYTHONPATH": str(Path(__file__).resolve().parents[2]),
    })
    env.update(extra)
    return env


def _run(env, *args, check=True, timeout=300):
    proc = subprocess.run([sys.executable, DRIVER, *args], env=env, capture_output=True, text=True, timeout=timeout)
    if check:
        assert proc.returncode == 0, proc.stderr
        return json.loads(proc.stdout.strip().splitlines()[-1])
    return proc


def _stored(s3_server, prefix):
    client = s3_server.boto3_client()
    keys = []
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=s3_server.bucket, Prefix=prefix):
        keys += [o["Key"] for o in page.get("Contents", [])]
    return client, keys


def _check_packages_intact(s3_server, prefix):
    """Every stored package's bytes match the sha256 its key names: nothing half-written."""
    client, keys = _stored(s3_server, prefix)
    packages = [k for k in keys if "/packages/" in k]
    assert packages
    for key in packages:
        body = client.get_object(Bucket=s3_server.bucket, Key=key)["Body"].read()
        assert hashlib.sha256(body).hexdigest() == key.split("/")[-2], key
    return keys


def test_publish_and_cold_hydrate_over_s3(s3_server, s3_proxy, s3_prefix, origin, tmp_path):
    env_id = _run(_env(s3_server, s3_prefix, origin, tmp_path / "a"), "publish", DEPS, "team/tiny:v1")
    keys = _check_packages_intact(s3_server, s3_prefix)
    assert any(k.endswith("/env.json") for k in keys)
    assert any(k.endswith("aliases/generic/team/tiny:v1") for k in keys)

    # Publishing again from another machine: the lock is there, so nothing is uploaded.
    s3_proxy.reset()
    _run(_env(s3_proxy, s3_prefix, origin, tmp_path / "b"), "publish", DEPS)
    assert not [r for r in s3_proxy.requests if r.method == "PUT"]

    # A new request whose packages are all stored already: one listing, only the lock is put.
    s3_proxy.reset()
    same_packages = json.dumps(["tinyutil", "chaina", "nativelib", "python"])
    _run(_env(s3_proxy, s3_prefix, origin, tmp_path / "c"), "publish", same_packages)
    puts = [r for r in s3_proxy.requests if r.method == "PUT"]
    assert len(puts) == 1 and puts[0].path.endswith("/env.json")
    package_reads = [r for r in s3_proxy.requests if "/packages/" in r.path and r.method in ("GET", "HEAD")]
    listings = [r for r in s3_proxy.requests if r.method == "GET" and "list-type" in (r.query or "")]
    assert not package_reads and len(listings) == 1

    node = _env(s3_server, s3_prefix, origin, tmp_path / "node")
    origin.stop()  # a cold node: empty caches, no channel; only the datastore
    out = _run(node, "hydrate",
               env_id["req_id"], env_id["full_id"], env_id["arch"], str(tmp_path / "prefix"))
    info = subprocess.run([os.path.join(out["prefix"], "bin", "nativelib-info")], capture_output=True, text=True)
    assert info.stdout.strip() == "nativelib 1.2.0 linux-64"


def test_two_publishers_at_once(s3_server, s3_prefix, origin, tmp_path):
    procs = [
        subprocess.Popen([sys.executable, DRIVER, "publish", DEPS, "team/race:v1"],
                         env=_env(s3_server, s3_prefix, origin, tmp_path / str(i)),
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for i in range(2)
    ]
    results = [(p.wait(timeout=300), p.stdout.read(), p.stderr.read()) for p in procs]
    for code, out, err in results:
        assert code == 0 or "written concurrently" in err, err
    client, keys = _stored(s3_server, s3_prefix)
    alias = next(k for k in keys if k.endswith("aliases/generic/team/race:v1"))
    named = json.loads(client.get_object(Bucket=s3_server.bucket, Key=alias)["Body"].read())
    assert named == json.loads(results[0][1].strip().splitlines()[-1])
    _check_packages_intact(s3_server, s3_prefix)


def _stall_then_kill(proc, proxy, matches, timeout=120):
    """Stall the first matching request at the proxy, SIGKILL the process while it waits."""
    started = threading.Event()

    def predicate(request):
        if matches(request):
            started.set()
            return True
        return False

    proxy.configure(slow_seconds=60)
    proxy.fail_matching(predicate, "slow")
    if not started.wait(timeout):
        raise AssertionError("never reached the point to kill at: %s" % (proc.poll(),))
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    proxy.clear_faults()


def test_sigkill_mid_upload_then_rerun(s3_server, s3_proxy, s3_prefix, origin, tmp_path):
    env = _env(s3_proxy, s3_prefix, origin, tmp_path / "a")
    proc = subprocess.Popen([sys.executable, DRIVER, "publish", DEPS], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    _stall_then_kill(proc, s3_proxy, lambda r: r.method == "PUT" and "/packages/" in r.key)
    _, keys = _stored(s3_server, s3_prefix)
    assert not any(k.endswith("env.json") for k in keys), "a lock became visible before its packages"
    env_id = _run(env, "publish", DEPS)
    _check_packages_intact(s3_server, s3_prefix)
    node = _env(s3_server, s3_prefix, origin, tmp_path / "node")
    origin.stop()
    _run(node, "hydrate",
         env_id["req_id"], env_id["full_id"], env_id["arch"], str(tmp_path / "prefix"))


def test_sigkill_mid_download_then_rerun(s3_server, s3_proxy, s3_prefix, origin, tmp_path):
    env_id = _run(_env(s3_server, s3_prefix, origin, tmp_path / "a"), "publish", DEPS)
    node = _env(s3_proxy, s3_prefix, origin, tmp_path / "node")
    origin.stop()
    args = ["hydrate", env_id["req_id"], env_id["full_id"], env_id["arch"], str(tmp_path / "prefix")]
    proc = subprocess.Popen([sys.executable, DRIVER, *args], env=node,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    _stall_then_kill(proc, s3_proxy, lambda r: r.method == "GET" and "/packages/" in r.key)
    cache = tmp_path / "node" / "pkgs"
    entries = [p for p in cache.rglob("*") if p.is_file() and not p.name.startswith(".partial-")]
    for entry in entries:  # whatever made it into the cache is complete and verified
        assert hashlib.sha256(entry.read_bytes()).hexdigest() == entry.parent.name
    out = _run(node, *args)
    assert (Path(out["prefix"]) / ".metaflow-envs-complete").is_file()


def test_corrupted_object_is_detected(s3_server, s3_prefix, origin, tmp_path):
    env_id = _run(_env(s3_server, s3_prefix, origin, tmp_path / "a"), "publish", DEPS)
    client, keys = _stored(s3_server, s3_prefix)
    key = next(k for k in keys if "/packages/conda/" in k and "tinyutil" in k)
    body = bytearray(client.get_object(Bucket=s3_server.bucket, Key=key)["Body"].read())
    body[len(body) // 2] ^= 0x01
    client.put_object(Bucket=s3_server.bucket, Key=key, Body=bytes(body))
    args = ["hydrate", env_id["req_id"], env_id["full_id"], env_id["arch"]]
    _run(_env(s3_server, s3_prefix, origin, tmp_path / "n1"), *args, str(tmp_path / "p1"))  # from origin
    node = _env(s3_server, s3_prefix, origin, tmp_path / "n2")
    origin.stop()
    proc = _run(node, *args, str(tmp_path / "p2"), check=False)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert "Could not download" in proc.stderr and "tinyutil" in proc.stderr


def test_faults_outlasting_s3_retries_fail_clearly(s3_server, s3_proxy, s3_prefix, origin, tmp_path):
    env_id = _run(_env(s3_server, s3_prefix, origin, tmp_path / "a"), "publish", DEPS)
    s3_proxy.configure(fault_rate=1.0, modes=["http503"])
    proc = _run(_env(s3_proxy, s3_prefix, origin, tmp_path / "node"), "hydrate", env_id["req_id"],
                env_id["full_id"], env_id["arch"], str(tmp_path / "prefix"), check=False)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert "after 3 attempts" in proc.stderr and "s3" in proc.stderr
    assert not (tmp_path / "prefix").exists()


def test_twenty_percent_faults_still_hydrate(s3_server, s3_proxy, s3_prefix, origin, tmp_path):
    env_id = _run(_env(s3_server, s3_prefix, origin, tmp_path / "a"), "publish", DEPS)
    node = _env(s3_proxy, s3_prefix, origin, tmp_path / "node")
    origin.stop()
    s3_proxy.configure(fault_rate=0.2, modes=["http500", "http503", "drop", "drop_mid"])
    s3_proxy.fail_next(1, "drop_mid")  # at least one fault, whatever the random draw
    out = _run(node, "hydrate", env_id["req_id"],
               env_id["full_id"], env_id["arch"], str(tmp_path / "prefix"))
    assert any(r.faulted for r in s3_proxy.requests)
    assert (Path(out["prefix"]) / ".metaflow-envs-complete").is_file()
