"""The S3 test infrastructure works: a real SeaweedFS server, a fault proxy, and Metaflow's S3Storage on both.

Metaflow reads its S3 config at import time, so everything that goes through
``S3Storage`` runs in a subprocess (:func:`_run_storage`) with the env from
``metaflow_env``/``subprocess_env``.
"""
from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

import pytest

from tests.fixtures.fault_proxy import ProxyRequest, S3FaultProxy
from tests.fixtures.s3 import FAST_RETRY_ENV, S3Server

botocore_exceptions = pytest.importorskip("botocore.exceptions")

# Runs in a fresh interpreter: ops (JSON on stdin) against S3Storage at $METAFLOW_DATASTORE_SYSROOT_S3.
_DRIVER = r'''
import base64, json, os, sys, time
t0 = time.monotonic()
from metaflow.metaflow_config import DATASTORE_SYSROOT_S3
from metaflow.plugins.datastores.s3_storage import S3Storage
storage = S3Storage(DATASTORE_SYSROOT_S3)
out = {"import_seconds": time.monotonic() - t0, "root": storage.datastore_root, "results": []}
for kind, arg in json.loads(sys.stdin.read()):
    t = time.monotonic()
    try:
        if kind == "save":
            items = [(p, base64.b64decode(d)) for p, d in arg]
            storage.save_bytes(iter(items), overwrite=True, len_hint=len(items))
            res = None
        elif kind == "load":
            res = {}
            with storage.load_bytes(arg) as loaded:
                for key, path, _meta in loaded:
                    if path is None:
                        res[key] = None
                    else:
                        with open(path, "rb") as fh:
                            res[key] = base64.b64encode(fh.read()).decode()
        elif kind == "list":
            res = sorted([r.path, r.is_file] for r in storage.list_content(arg))
        elif kind == "is_file":
            res = storage.is_file(arg)
        elif kind == "info":
            res = list(storage.info_file(arg))
        elif kind == "size":
            res = storage.size_file(arg)
        elif kind == "setenv":
            os.environ.update(arg)
            res = None
        else:
            raise ValueError(kind)
        out["results"].append({"ok": True, "result": res, "seconds": time.monotonic() - t})
    except Exception as exc:
        out["results"].append({"ok": False, "error": type(exc).__name__, "message": str(exc)[:1000],
                               "seconds": time.monotonic() - t})
print("@@RESULT@@" + json.dumps(out))
'''


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _run_storage(env: Dict[str, str], ops: Sequence[Sequence[Any]], cwd: Path) -> Dict[str, Any]:
    """Run S3Storage ``ops`` in a subprocess; returns the driver's JSON (one result per op)."""
    proc = subprocess.run(
        [sys.executable, "-c", _DRIVER], input=json.dumps(ops), env=env, cwd=str(cwd),
        capture_output=True, text=True, timeout=180,
    )
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("@@RESULT@@")]
    assert proc.returncode == 0 and lines, "driver failed (rc=%s):\n%s\n%s" % (
        proc.returncode, proc.stdout[-2000:], proc.stderr[-4000:])
    out: Dict[str, Any] = json.loads(lines[0][len("@@RESULT@@"):])
    return out


def _ok(result: Dict[str, Any]) -> Any:
    assert result["ok"], result
    return result["result"]


_FILES = {
    "envs/abc/lock.json": b'{"lock": 1}',
    "envs/abc/packages/pkg-1.0.tar.bz2": os.urandom(200_000),
    "envs/def/packages/other.whl": b"wheel bytes",
}


def _round_trip(env: Dict[str, str], tmp_path: Path) -> Dict[str, Any]:
    out = _run_storage(env, [
        ["save", [[k, _b64(v)] for k, v in _FILES.items()]],
        ["load", list(_FILES) + ["envs/missing"]],
        ["list", ["envs"]],
        ["list", ["envs/abc"]],
        ["is_file", ["envs/abc/lock.json", "envs/abc", "envs/nope.json"]],
        ["size", "envs/abc/packages/pkg-1.0.tar.bz2"],
        ["info", "envs/abc/lock.json"],
    ], tmp_path)
    results = out["results"]
    _ok(results[0])
    loaded = _ok(results[1])
    assert {k: base64.b64decode(v) for k, v in loaded.items() if v is not None} == _FILES
    assert loaded["envs/missing"] is None
    assert _ok(results[2]) == [["envs/abc/", False], ["envs/def/", False]]
    assert _ok(results[3]) == [["envs/abc/lock.json", True], ["envs/abc/packages/", False]]
    assert _ok(results[4]) == [True, False, False]
    assert _ok(results[5]) == 200_000
    assert _ok(results[6])[0] is True
    return out


# ------------------------------------------------------------------ the server


def test_server_is_real_s3_on_loopback(s3_server: S3Server) -> None:
    assert s3_server.endpoint_url.startswith("http://127.0.0.1:")
    assert s3_server.running
    assert len(set(s3_server.ports.values())) == len(s3_server.ports)
    # weed listens on loopback only (Linux: its sockets' inodes in /proc/net/tcp*).
    listening = _listening_addresses(s3_server._proc.pid if s3_server._proc else 0)
    if listening is None:
        pytest.skip("no /proc")
    assert listening, "weed has no listening sockets?"
    assert all(addr in ("0100007F", "00000000000000000000000001000000") for addr, _ in listening), listening
    assert {port for _, port in listening} >= {s3_server.ports[k] for k in ("s3", "master", "filer", "volume")}


def _listening_addresses(pid: int) -> Optional[List[Any]]:
    fd_dir = Path("/proc/%d/fd" % pid)
    if not fd_dir.is_dir():
        return None
    inodes = set()
    for fd in fd_dir.iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    found = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            cols = line.split()
            if cols[3] == "0A" and cols[9] in inodes:  # 0A: LISTEN
                addr, port = cols[1].split(":")
                found.append((addr, int(port, 16)))
    return found


def test_server_checks_signatures(s3_server: S3Server) -> None:
    good = s3_server.boto3_client()
    good.put_object(Bucket=s3_server.bucket, Key="sig/check.txt", Body=b"ok")
    assert good.get_object(Bucket=s3_server.bucket, Key="sig/check.txt")["Body"].read() == b"ok"

    with pytest.raises(botocore_exceptions.ClientError) as bad_secret:
        s3_server.boto3_client(secret_key="not-the-secret").get_object(Bucket=s3_server.bucket, Key="sig/check.txt")
    assert bad_secret.value.response["Error"]["Code"] == "SignatureDoesNotMatch"
    assert bad_secret.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403

    import boto3
    from botocore import UNSIGNED
    from botocore.config import Config

    anon = boto3.session.Session().client("s3", endpoint_url=s3_server.endpoint_url, region_name=s3_server.region,
                                          config=Config(signature_version=UNSIGNED))
    with pytest.raises(botocore_exceptions.ClientError) as anonymous:
        anon.get_object(Bucket=s3_server.bucket, Key="sig/check.txt")
    assert anonymous.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403


def test_metaflow_env(s3_server: S3Server, s3_proxy: S3FaultProxy) -> None:
    env = s3_server.metaflow_env("some/prefix/")
    assert env["METAFLOW_DEFAULT_DATASTORE"] == "s3"
    assert env["METAFLOW_DATASTORE_SYSROOT_S3"] == "s3://%s/some/prefix" % s3_server.bucket
    assert env["METAFLOW_S3_ENDPOINT_URL"] == s3_server.endpoint_url
    assert env["AWS_ACCESS_KEY_ID"] == s3_server.access_key
    assert env["AWS_SECRET_ACCESS_KEY"] == s3_server.secret_key
    assert env["AWS_DEFAULT_REGION"] == s3_server.region
    for key, val in FAST_RETRY_ENV.items():
        assert env[key] == val
    assert "METAFLOW_S3_RETRY_COUNT" not in s3_server.metaflow_env("p", retries="metaflow")
    slow = s3_server.metaflow_env("p", read_timeout=3)
    assert json.loads(slow["METAFLOW_DATATOOLS_CLIENT_PARAMS"])["config"]["read_timeout"] == 3
    penv = s3_proxy.metaflow_env("p")
    assert penv["METAFLOW_S3_ENDPOINT_URL"] == s3_proxy.endpoint_url != s3_server.endpoint_url
    with pytest.raises(ValueError):
        s3_server.metaflow_env("p", retries="sometimes")


# ---------------------------------------------------- Metaflow's S3Storage on it


def test_s3storage_round_trip_direct(s3_server: S3Server, s3_prefix: str, tmp_path: Path) -> None:
    out = _round_trip(s3_server.subprocess_env(s3_prefix), tmp_path)
    assert out["root"] == "s3://%s/%s" % (s3_server.bucket, s3_prefix)
    # The objects really are in the bucket, under the prefix.
    listed = s3_server.boto3_client().list_objects_v2(Bucket=s3_server.bucket, Prefix=s3_prefix + "/")
    assert sorted(o["Key"] for o in listed["Contents"]) == sorted(s3_prefix + "/" + k for k in _FILES)


def test_s3storage_round_trip_through_proxy(s3_proxy: S3FaultProxy, s3_prefix: str, tmp_path: Path) -> None:
    _round_trip(s3_proxy.subprocess_env(s3_prefix), tmp_path)
    counts = s3_proxy.counts()
    assert counts.faulted == 0
    assert counts.total == counts.forwarded > 0
    assert counts.by_method.get("PUT", 0) >= len(_FILES)
    assert set(counts.by_status) <= {200, 404}  # 404: the keys that are missing on purpose
    # Signatures made for the proxy's host:port verified upstream; a wrong secret is refused upstream.
    with pytest.raises(botocore_exceptions.ClientError) as bad:
        s3_proxy.boto3_client(secret_key="wrong").head_object(Bucket=s3_proxy.bucket, Key="x")
    assert bad.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert s3_proxy.requests[-1].fault is None and s3_proxy.requests[-1].status == 403


def test_many_keys_use_s3op_subprocesses(s3_proxy: S3FaultProxy, s3_prefix: str, tmp_path: Path) -> None:
    # More than 10 keys: S3Storage switches to put_many/get_many, i.e. s3op worker processes.
    files = {"many/k%02d" % i: os.urandom(1000 + i) for i in range(12)}
    out = _run_storage(s3_proxy.subprocess_env(s3_prefix), [
        ["save", [[k, _b64(v)] for k, v in files.items()]],
        ["load", list(files)],
    ], tmp_path)
    _ok(out["results"][0])
    assert {k: base64.b64decode(v) for k, v in _ok(out["results"][1]).items()} == files
    assert s3_proxy.counts().by_method["PUT"] == 12


def test_endpoint_is_read_at_import_time(s3_server: S3Server, s3_proxy: S3FaultProxy, s3_prefix: str,
                                         tmp_path: Path) -> None:
    s3_server.boto3_client().put_object(Bucket=s3_server.bucket, Key=s3_prefix + "/a/k.txt", Body=b"v")
    out = _run_storage(s3_server.subprocess_env(s3_prefix), [
        ["setenv", {"METAFLOW_S3_ENDPOINT_URL": s3_proxy.endpoint_url}],
        ["load", ["a/k.txt"]],  # single key: in-process client, endpoint fixed at import
        ["list", ["a"]],  # s3op subprocess: re-imports Metaflow from the changed os.environ
    ], tmp_path)
    assert _ok(out["results"][1]) == {"a/k.txt": _b64(b"v")}
    assert _ok(out["results"][2]) == [["a/k.txt", True]]
    reqs = s3_proxy.requests
    assert reqs and all(r.method == "GET" and "list-type=2" in r.query for r in reqs), reqs


# ------------------------------------------------------------------- faults


def test_transient_503s_recovered_by_metaflow_retries(s3_proxy: S3FaultProxy, s3_prefix: str,
                                                      tmp_path: Path) -> None:
    s3_proxy.boto3_client().put_object(Bucket=s3_proxy.bucket, Key=s3_prefix + "/r/blob", Body=b"data")
    s3_proxy.reset()
    # 3 > botocore's 1 retry in the "fast" preset: the 4th request comes from Metaflow's own retry loop.
    s3_proxy.fail_next(3, "http503")
    out = _run_storage(s3_proxy.subprocess_env(s3_prefix), [["load", ["r/blob"]]], tmp_path)
    assert _ok(out["results"][0]) == {"r/blob": _b64(b"data")}
    reqs = s3_proxy.requests
    assert [(r.method, r.status, r.fault) for r in reqs] == [("GET", 503, "http503")] * 3 + [("GET", 200, None)]
    counts = s3_proxy.counts()
    assert counts.by_mode == {"http503": 3} and counts.faulted == 3


def test_faults_outlasting_retries_fail(s3_proxy: S3FaultProxy, s3_prefix: str, tmp_path: Path) -> None:
    s3_proxy.boto3_client().put_object(Bucket=s3_proxy.bucket, Key=s3_prefix + "/f/blob", Body=b"data")
    s3_proxy.reset()
    s3_proxy.configure(fault_rate=1.0, modes=["http500", "http503"])
    out = _run_storage(s3_proxy.subprocess_env(s3_prefix), [["load", ["f/blob"]]], tmp_path)
    res = out["results"][0]
    assert not res["ok"] and res["error"] == "MetaflowS3Exception", res
    # fast preset: (1 Metaflow retry + 1) x (1 botocore retry + 1) requests, ~1 s of Metaflow back-off.
    assert s3_proxy.counts().total == 4 and s3_proxy.counts().faulted == 4
    assert 0.5 < res["seconds"] < 15, res["seconds"]

    s3_proxy.reset()
    s3_proxy.fault_rate = 1.0
    out = _run_storage(s3_proxy.subprocess_env(s3_prefix, retries="none"), [["load", ["f/blob"]]], tmp_path)
    assert not out["results"][0]["ok"]
    assert s3_proxy.counts().total == 1
    assert out["results"][0]["seconds"] < 5


def test_drop_modes_raw(s3_proxy: S3FaultProxy, s3_prefix: str) -> None:
    client = s3_proxy.boto3_client()  # no retries: see the fault itself
    key = s3_prefix + "/d/blob"
    client.put_object(Bucket=s3_proxy.bucket, Key=key, Body=b"z" * 10_000)
    mark = s3_proxy.mark()

    s3_proxy.fail_next(1, "drop")
    with pytest.raises(botocore_exceptions.HTTPClientError):
        client.get_object(Bucket=s3_proxy.bucket, Key=key)

    s3_proxy.fail_next(1, "drop_mid")
    resp = client.get_object(Bucket=s3_proxy.bucket, Key=key)  # headers arrive...
    assert resp["ContentLength"] == 10_000
    with pytest.raises(Exception) as mid:  # ...the body breaks off
        resp["Body"].read()
    assert "reset" in str(mid.value).lower() or "incomplete" in str(mid.value).lower(), mid.value

    assert client.get_object(Bucket=s3_proxy.bucket, Key=key)["Body"].read() == b"z" * 10_000
    recs = s3_proxy.requests_since(mark)
    assert [(r.fault, r.status, r.bytes_out) for r in recs] == [("drop", None, 0), ("drop_mid", 200, 5_000),
                                                               (None, 200, 10_000)]


def test_drop_modes_recovered_by_metaflow(s3_proxy: S3FaultProxy, s3_prefix: str, tmp_path: Path) -> None:
    prefix = "/%s/%s/" % (s3_proxy.bucket, s3_prefix)
    s3_proxy.fail_matching(lambda r: r.method == "PUT", "drop", times=1)
    s3_proxy.fail_matching(lambda r: r.method == "GET" and r.key.endswith("/m/one"), "drop", times=1)
    s3_proxy.fail_matching(lambda r: r.method == "GET" and r.key.endswith("/m/two"), "drop_mid", times=1)
    out = _run_storage(s3_proxy.subprocess_env(s3_prefix), [
        ["save", [["m/one", _b64(b"1" * 5000)], ["m/two", _b64(b"2" * 5000)]]],
        ["load", ["m/one", "m/two"]],
    ], tmp_path)
    _ok(out["results"][0])
    assert _ok(out["results"][1]) == {"m/one": _b64(b"1" * 5000), "m/two": _b64(b"2" * 5000)}
    assert s3_proxy.counts().by_mode == {"drop": 2, "drop_mid": 1}
    assert all(r.path.startswith(prefix) for r in s3_proxy.requests)


def test_slow_mode(s3_proxy: S3FaultProxy, s3_prefix: str, tmp_path: Path) -> None:
    key = s3_prefix + "/s/blob"
    s3_proxy.boto3_client().put_object(Bucket=s3_proxy.bucket, Key=key, Body=b"slow")
    s3_proxy.reset()
    s3_proxy.slow_seconds = 1.0
    s3_proxy.fail_next(1, "slow")
    started = time.monotonic()
    assert s3_proxy.boto3_client().get_object(Bucket=s3_proxy.bucket, Key=key)["Body"].read() == b"slow"
    assert time.monotonic() - started >= 1.0
    assert s3_proxy.requests[0].fault == "slow" and s3_proxy.requests[0].status == 200

    # A delay beyond botocore's read timeout (METAFLOW_DATATOOLS_CLIENT_PARAMS) is a failed attempt, retried.
    s3_proxy.reset()
    s3_proxy.slow_seconds = 1.5
    s3_proxy.fail_next(1, "slow")
    out = _run_storage(s3_proxy.subprocess_env(s3_prefix, read_timeout=0.5), [["load", ["s/blob"]]], tmp_path)
    assert _ok(out["results"][0]) == {"s/blob": _b64(b"slow")}
    assert out["results"][0]["seconds"] < 2.5
    assert [r.fault for r in s3_proxy.requests] == ["slow", None]


def test_fail_matching_only_package_gets(s3_proxy: S3FaultProxy, s3_prefix: str) -> None:
    client = s3_proxy.boto3_client()
    pkg, lock = s3_prefix + "/packages/p.whl", s3_prefix + "/locks/l.json"
    client.put_object(Bucket=s3_proxy.bucket, Key=pkg, Body=b"p")
    client.put_object(Bucket=s3_proxy.bucket, Key=lock, Body=b"l")

    def package_get(req: ProxyRequest) -> bool:
        return req.method == "GET" and req.key.startswith(s3_prefix + "/packages/")

    s3_proxy.fail_matching(package_get, "http500")
    assert client.get_object(Bucket=s3_proxy.bucket, Key=lock)["Body"].read() == b"l"
    assert client.head_object(Bucket=s3_proxy.bucket, Key=pkg)["ContentLength"] == 1
    for _ in range(2):
        with pytest.raises(botocore_exceptions.ClientError) as err:
            client.get_object(Bucket=s3_proxy.bucket, Key=pkg)
        assert err.value.response["Error"]["Code"] == "InternalError"
    assert s3_proxy.counts().by_mode == {"http500": 2}
    s3_proxy.clear_faults()
    assert client.get_object(Bucket=s3_proxy.bucket, Key=pkg)["Body"].read() == b"p"


def test_fault_rate_is_deterministic(s3_proxy: S3FaultProxy, s3_prefix: str) -> None:
    client = s3_proxy.boto3_client()
    key = s3_prefix + "/rng"
    client.put_object(Bucket=s3_proxy.bucket, Key=key, Body=b"r")

    def run() -> List[Optional[str]]:
        s3_proxy.reset(seed=7)
        s3_proxy.configure(fault_rate=0.5, modes=["http500", "http503"])
        for _ in range(16):
            try:
                client.head_object(Bucket=s3_proxy.bucket, Key=key)
            except botocore_exceptions.ClientError:
                pass
        return [r.fault for r in s3_proxy.requests]

    first = run()
    assert first == run()
    assert 0 < sum(f is not None for f in first) < 16
    assert {f for f in first if f} <= {"http500", "http503"}


def test_chunked_request_bodies_are_relayed(s3_proxy: S3FaultProxy, s3_prefix: str) -> None:
    import http.client
    from urllib.parse import urlsplit

    client = s3_proxy.boto3_client()
    key = s3_prefix + "/chunked.bin"
    url = urlsplit(client.generate_presigned_url("put_object", Params={"Bucket": s3_proxy.bucket, "Key": key},
                                                 ExpiresIn=60))
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
    try:
        conn.request("PUT", "%s?%s" % (url.path, url.query), body=iter([b"a" * 70_000, b"b" * 30_000]),
                     encode_chunked=True)
        resp = conn.getresponse()
        resp.read()
        assert resp.status == 200
    finally:
        conn.close()
    assert client.get_object(Bucket=s3_proxy.bucket, Key=key)["Body"].read() == b"a" * 70_000 + b"b" * 30_000
    assert s3_proxy.requests[-2].bytes_in == 100_000
