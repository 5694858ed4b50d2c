"""The store on a real S3 server (SeaweedFS on 127.0.0.1): the scenarios every datastore
passes (store_scenarios.py), then faults injected by a proxy, which only S3 has.

Each store operation runs in a subprocess: Metaflow binds its S3 endpoint at import.
"""
import hashlib
import json
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from .store_scenarios import *  # noqa: F401,F403 - the shared scenarios, collected here for S3
from .store_scenarios import DEPS, DRIVER, check_packages_intact, hydrate_args, run_driver, store_env


@pytest.fixture
def store_backend(s3_server):
    return s3_server


def test_publishing_what_is_stored_uploads_nothing(s3_server, s3_proxy, s3_prefix, origin, tmp_path):
    run_driver(store_env(s3_server, s3_prefix, origin, tmp_path / "a"), "publish", DEPS)

    # Publishing again from another machine: the lock is there, so nothing is uploaded.
    s3_proxy.reset()
    run_driver(store_env(s3_proxy, s3_prefix, origin, tmp_path / "b"), "publish", DEPS)
    assert not [r for r in s3_proxy.requests if r.method == "PUT"]

    # A new request whose packages are all stored already: one listing, only the lock is put.
    s3_proxy.reset()
    same_packages = json.dumps(["tinyutil", "chaina", "nativelib", "python"])
    run_driver(store_env(s3_proxy, s3_prefix, origin, tmp_path / "c"), "publish", same_packages)
    puts = [r for r in s3_proxy.requests if r.method == "PUT"]
    assert len(puts) == 1 and puts[0].path.endswith("/env.json")
    package_reads = [r for r in s3_proxy.requests if "/packages/" in r.path and r.method in ("GET", "HEAD")]
    listings = [r for r in s3_proxy.requests if r.method == "GET" and "list-type" in (r.query or "")]
    assert not package_reads and len(listings) == 1


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
    env = store_env(s3_proxy, s3_prefix, origin, tmp_path / "a")
    proc = subprocess.Popen([sys.executable, DRIVER, "publish", DEPS], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    _stall_then_kill(proc, s3_proxy, lambda r: r.method == "PUT" and "/packages/" in r.key)
    keys = s3_server.keys(s3_prefix)
    assert not any(k.endswith("env.json") for k in keys), "a lock became visible before its packages"
    env_id = run_driver(env, "publish", DEPS)
    check_packages_intact(s3_server, s3_prefix)
    node = store_env(s3_server, s3_prefix, origin, tmp_path / "node")
    origin.stop()
    run_driver(node, *hydrate_args(env_id, tmp_path / "prefix"))


def test_sigkill_mid_download_then_rerun(s3_server, s3_proxy, s3_prefix, origin, tmp_path):
    env_id = run_driver(store_env(s3_server, s3_prefix, origin, tmp_path / "a"), "publish", DEPS)
    node = store_env(s3_proxy, s3_prefix, origin, tmp_path / "node")
    origin.stop()
    args = hydrate_args(env_id, tmp_path / "prefix")
    proc = subprocess.Popen([sys.executable, DRIVER, *args], env=node,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    _stall_then_kill(proc, s3_proxy, lambda r: r.method == "GET" and "/packages/" in r.key)
    cache = tmp_path / "node" / "pkgs"
    entries = [p for p in cache.rglob("*") if p.is_file() and not p.name.startswith(".partial-")]
    for entry in entries:  # whatever made it into the cache is complete and verified
        assert hashlib.sha256(entry.read_bytes()).hexdigest() == entry.parent.name
    out = run_driver(node, *args)
    assert (Path(out["prefix"]) / ".metaflow-envs-complete").is_file()


def test_faults_outlasting_s3_retries_fail_clearly(s3_server, s3_proxy, s3_prefix, origin, tmp_path):
    env_id = run_driver(store_env(s3_server, s3_prefix, origin, tmp_path / "a"), "publish", DEPS)
    s3_proxy.configure(fault_rate=1.0, modes=["http503"])
    proc = run_driver(store_env(s3_proxy, s3_prefix, origin, tmp_path / "node"),
                      *hydrate_args(env_id, tmp_path / "prefix"), check=False)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert "after 3 attempts" in proc.stderr and "s3" in proc.stderr
    assert not (tmp_path / "prefix").exists()


def test_twenty_percent_faults_still_hydrate(s3_server, s3_proxy, s3_prefix, origin, tmp_path):
    env_id = run_driver(store_env(s3_server, s3_prefix, origin, tmp_path / "a"), "publish", DEPS)
    node = store_env(s3_proxy, s3_prefix, origin, tmp_path / "node")
    origin.stop()
    s3_proxy.configure(fault_rate=0.2, modes=["http500", "http503", "drop", "drop_mid"])
    s3_proxy.fail_next(1, "drop_mid")  # at least one fault, whatever the random draw
    out = run_driver(node, *hydrate_args(env_id, tmp_path / "prefix"))
    assert any(r.faulted for r in s3_proxy.requests)
    assert (Path(out["prefix"]) / ".metaflow-envs-complete").is_file()
