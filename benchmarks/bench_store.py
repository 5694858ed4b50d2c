#!/usr/bin/env python
"""The environment store on S3: cold hydration against a raw-GET floor, and re-publishing.

    PYTHONPATH=. python benchmarks/bench_store.py [--quick] [--runs N]

Starts a SeaweedFS S3 server on 127.0.0.1 (tests/fixtures/s3.py), resolves a PyPI-only
environment (~40 packages; Python from this machine) and publishes it there, then measures:

1. Cold hydration: a fresh process with an empty METAFLOW_CONDA_CACHE_DIR hydrates the lock
   from the store (`Environments(store=EnvStore("s3")).get(...)` + `.create(...)`), against
   the floor: a fresh process doing a raw parallel boto3 GET of the same package objects
   straight into a fresh package cache, then the same local install (`create_prefix` with no
   store: everything is cached). Target: ours at most 1.3x the floor.
2. Publishing again: S3 requests counted by a proxy (tests/fixtures/fault_proxy.py, no
   faults) while a fresh machine publishes the same environment, then new environments whose
   packages are all in the store already.

Every S3 operation runs in a subprocess: Metaflow binds its S3 settings at import time.
Prints tables and never asserts; a failed measurement shows as "failed" (details on stderr).
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Dict, List, Sequence, Tuple

from report import secs, table  # benchmarks/report.py (this script's folder)

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))  # tests.fixtures, when run without PYTHONPATH=.

SET_FULL = ["pandas", "scikit-learn", "matplotlib", "requests", "boto3",
            "rich", "statsmodels", "plotly", "pyarrow", "sqlalchemy"]  # ~40 packages
SET_QUICK = ["requests", "rich", "attrs", "six"]  # ~10 packages
SUBSET = ["requests", "rich"]  # a smaller environment made of packages already stored
IMPORT_CHECK = {"full": "import pandas, sklearn, matplotlib, pyarrow", "quick": "import requests, rich"}
S3_PREFIX = "bench"
TARGET = 1.3  # ours / floor, at most
FLOOR_WORKERS = 16
FEW_WORKERS = 4  # METAFLOW_S3_WORKER_COUNT of the diagnostic run (Metaflow's default is 64)

# ---- child processes (one S3 configuration per process) ----------------------------------
_TIMING = """
import json, sys, time
t0 = time.perf_counter()
from pathlib import Path
spent = {}
def timed(owner, attr, key):
    fn = getattr(owner, attr)
    def wrapper(*args, **kwargs):
        start = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            spent[key] = spent.get(key, 0.0) + time.perf_counter() - start
    setattr(owner, attr, wrapper)
"""
# publish <requirements json> <lock out> [python]: resolve (local caches) + publish to the store.
# create <req_id> <full_id> <arch> <prefix>: a cold node hydrating from the store alone.
OURS_CHILD = _TIMING + """
from metaflow_extensions.envs.plugins.envs.environments import Environments
from metaflow_extensions.envs.plugins.envs.hydrate import install
from metaflow_extensions.envs.plugins.envs.resolve.platforms import host_platform
from metaflow_extensions.envs.plugins.envs.spec.model import EnvSpec, PypiDep
from metaflow_extensions.envs.plugins.envs.ids import EnvID
from metaflow_extensions.envs.plugins.envs.store.datastore import EnvStore
import metaflow.plugins.datastores.s3_storage  # noqa: F401  (import cost outside the timings)
t1 = time.perf_counter()
command, args = sys.argv[1], sys.argv[2:]
if command == "publish":
    envs = Environments(store=EnvStore("s3"))
    spec = EnvSpec(pypi_deps=tuple(PypiDep.parse(r) for r in json.loads(args[0])), platform=host_platform(),
                   python=args[2] if len(args) > 2 else None)
    timed(envs, "resolve", "resolve")
    timed(envs, "publish", "publish")
    env = envs.resolve(spec)
    envs.publish(env)
    Path(args[1]).write_text(env.to_json())
    out = dict(req_id=env.req_id, full_id=env.full_id, arch=env.arch, root=envs.store.root,
               keys=[[envs.store.package_key(p), p.size or 0] for p in env.packages], packages=len(env.packages))
else:
    import shutil
    from metaflow_extensions.envs.plugins.envs.store import datastore
    timed(EnvStore, "download_packages", "download")
    timed(datastore, "sha256_of", "verify")  # inside download: hash of each fetched file
    timed(shutil, "copyfile", "copy")  # inside download: Metaflow's temp file -> our cache
    timed(install, "_install", "install")
    envs = Environments(store=EnvStore("s3"))
    timed(envs, "get", "lock")
    env = envs.get(EnvID(*args[:3]))
    envs.create(env, Path(args[3]))
    out = {}
t2 = time.perf_counter()
print(json.dumps(dict(out, **spent, imports=t1 - t0, work=t2 - t1)))
"""
# floor <lock> <bucket> <items json: [s3 key, kind, sha256, filename]> <cache root> <prefix>
FLOOR_CHILD = _TIMING + """
import os
from concurrent.futures import ThreadPoolExecutor
import boto3
from botocore.config import Config
client = boto3.session.Session().client(
    "s3", endpoint_url=os.environ["METAFLOW_S3_ENDPOINT_URL"], region_name=os.environ["AWS_DEFAULT_REGION"],
    config=Config(max_pool_connections=%(workers)d, s3={"addressing_style": "path"}))
t1 = time.perf_counter()
lock, bucket, items, cache, prefix = sys.argv[1], sys.argv[2], json.loads(sys.argv[3]), Path(sys.argv[4]), sys.argv[5]
def get(item):
    key, kind, sha256, filename = item
    dest = cache / "pkgs" / kind / sha256 / filename  # the package cache's layout
    dest.parent.mkdir(parents=True, exist_ok=True)
    body = client.get_object(Bucket=bucket, Key=key)["Body"]
    with open(dest, "wb") as out:
        for chunk in body.iter_chunks(1 << 20):
            out.write(chunk)
with ThreadPoolExecutor(%(workers)d) as pool:
    list(pool.map(get, items))
t2 = time.perf_counter()
from metaflow_extensions.envs.plugins.envs.hydrate import install
from metaflow_extensions.envs.plugins.envs.lock import ResolvedEnvironment
t3 = time.perf_counter()
timed(install, "_install", "install")
install.create_prefix(ResolvedEnvironment.from_json(Path(lock).read_text()), Path(prefix))  # no store
t4 = time.perf_counter()
print(json.dumps(dict(spent, imports=t1 - t0, download=t2 - t1, engine_imports=t3 - t2, create=t4 - t3)))
""" % {"workers": FLOOR_WORKERS}

Run = Tuple[float, Dict[str, Any]]  # wall seconds, what the child reported


def run_child(code: str, args: Sequence[str], env: Dict[str, str], cwd: Path) -> Run:
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", code, *args], env=env, cwd=str(cwd), stdin=subprocess.DEVNULL,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise RuntimeError("%s %s failed (%d):\n%s" % (
            "ours" if code is OURS_CHILD else "floor", args[0] if code is OURS_CHILD else "",
            proc.returncode, proc.stderr[-3000:]))
    return wall, json.loads(proc.stdout.strip().splitlines()[-1])


def median_run(results: List[Run]) -> Run:
    return sorted(results, key=lambda r: r[0])[len(results) // 2]


def classify(records: Sequence[Any]) -> Dict[str, Any]:
    """S3 requests seen by the proxy, by operation, with package uploads apart."""
    out: Dict[str, Any] = {"LIST": 0, "HEAD": 0, "GET": 0, "PUT": 0, "other": 0, "package PUTs": 0,
                           "up": 0, "down": 0}
    for rec in records:
        query = rec.query or ""
        if rec.method == "GET" and ("list-type" in query or "prefix=" in query or "delimiter" in query):
            op = "LIST"
        elif rec.method in ("HEAD", "GET", "PUT"):
            op = rec.method
        else:
            op = "other"
        out[op] += 1
        if rec.method == "PUT" and "/packages/" in rec.path:
            out["package PUTs"] += 1
        out["up"] += rec.bytes_in
        out["down"] += rec.bytes_out
    out["total"] = len(records)
    return out


def mib(n: int) -> str:
    return "%.1f MiB" % (n / 2 ** 20) if n >= 2 ** 20 else "%.1f KiB" % (n / 1024)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="a ~10-package environment, one timed run")
    parser.add_argument("--runs", type=int, default=3, help="timed runs after the warm-up (median)")
    args = parser.parse_args()
    runs = 1 if args.quick else args.runs
    name = "quick" if args.quick else "full"
    reqs = SET_QUICK if args.quick else SET_FULL

    from tests.fixtures.fault_proxy import S3FaultProxy
    from tests.fixtures.s3 import start_seaweedfs

    tmp = Path(tempfile.mkdtemp(prefix="mfenvs-bench-store-"))
    try:
        server = start_seaweedfs("mfenvs-bench", workdir=tmp)
    except Exception as err:  # reported, never raised: nothing to measure without a server
        print("!! could not start SeaweedFS: %s" % err, file=sys.stderr)
        shutil.rmtree(tmp, ignore_errors=True)
        return
    proxy = S3FaultProxy(server).start()
    counter = [0]

    def machine(endpoint: Any, **extra: str) -> Tuple[Dict[str, str], Path]:
        """Env of a fresh machine: empty caches, Metaflow's own S3 defaults (64 s3op workers,
        its retries), Python from this machine, nothing from ~/.metaflowconfig."""
        counter[0] += 1
        home = tmp / ("m%d" % counter[0])
        (home / "cache").mkdir(parents=True)
        env = endpoint.subprocess_env(S3_PREFIX, retries="metaflow")
        for key in ("PYTHONPATH", "METAFLOW_PROFILE", "METAFLOW_DEBUG_CONDA", "METAFLOW_CONDA_USE_REMOTE_LATEST"):
            env.pop(key, None)
        env.update({
            "METAFLOW_HOME": str(home),
            "METAFLOW_CONDA_CACHE_DIR": str(home / "cache"),
            "METAFLOW_CONDA_PYTHON_SOURCE": "system",
            "METAFLOW_ARTIFACT_LOCALROOT": str(home),  # Metaflow's S3 temp dirs, not the cwd
        })
        env.update(extra)
        os.sync()  # the previous run's dirty pages are written now, not during this run
        return env, home

    try:
        print("SeaweedFS %s (started in %.1fs), %s; Python %s; %d CPUs; load average %.1f; %d timed run(s) "
              "after a warm-up" % (server.endpoint_url, server.start_seconds, "s3://%s/%s" % (server.bucket, S3_PREFIX),
                                   sys.version.split()[0], os.cpu_count() or 0, os.getloadavg()[0], runs), flush=True)

        # ---- setup: resolve + publish from a first machine ------------------------------
        env0, home0 = machine(server)
        lock = tmp / "lock.json"
        try:
            wall, pub = run_child(OURS_CHILD, ["publish", json.dumps(reqs), str(lock)], env0, home0)
        except Exception as err:
            print("!! resolving and publishing the environment failed, nothing to measure: %s" % err,
                  file=sys.stderr)
            return
        size = sum(s for _, s in pub["keys"])
        print("Published %d packages (%s) in %.1fs (resolve %.1fs, publish %.1fs)"
              % (pub["packages"], mib(size), wall, pub["resolve"], pub["publish"]), flush=True)
        env_id = [pub["req_id"], pub["full_id"], pub["arch"]]
        root = pub["root"][len("s3://"):]
        bucket, _, base = root.partition("/")
        lock_data = json.loads(lock.read_text())
        items = []  # [s3 key, kind, sha256, filename] of every package object
        for key, _size in pub["keys"]:
            kind, sha256, filename = key.split("/")[-3:]
            items.append([base.rstrip("/") + "/" + key, kind, sha256, filename])
        pinned = ["%s==%s" % (p["name"], p["version"]) for p in lock_data["packages"]]

        # ---- 1. cold hydration, ours vs floor (interleaved) ------------------------------
        # "ours" uses Metaflow's S3 defaults; "ours, W=..." the same with fewer s3op worker
        # processes (METAFLOW_S3_WORKER_COUNT), to show what that fan-out costs on this machine.
        few = {"METAFLOW_S3_WORKER_COUNT": str(FEW_WORKERS)}
        contenders = [("ours", "create", {}), ("ours, W=%d" % FEW_WORKERS, "create", few), ("floor", "floor", {})]
        results: Dict[str, List[Run]] = {label: [] for label, _, _ in contenders}
        kept: List[Path] = []

        def once(kind: str, extra: Dict[str, str], keep: bool = False) -> Run:
            env, home = machine(server, **extra)
            if kind == "create":
                result = run_child(OURS_CHILD, ["create", *env_id, str(home / "prefix")], env, home)
            else:
                result = run_child(FLOOR_CHILD, [str(lock), bucket, json.dumps(items), str(home / "cache"),
                                                 str(home / "prefix")], env, home)
            if keep:
                kept.append(home / "prefix")
            else:
                shutil.rmtree(home, ignore_errors=True)
            return result

        check = "n/a"
        try:
            for _, kind, extra in contenders:  # warm-up: the server's data in the page cache, for all
                once(kind, extra)
            for i in range(runs):  # interleaved, so drift hits all alike
                for label, kind, extra in contenders:
                    results[label].append(once(kind, extra, keep=label == "ours" and i == runs - 1))
            for label, _, _ in contenders:
                print("   %-28s median %.2fs of %s" % (label, median_run(results[label])[0],
                                                       ["%.2f" % r[0] for r in results[label]]), flush=True)
            last = kept[-1]  # the prefix of the last run of ours
            proc = subprocess.run([str(last / "bin/python"), "-c", IMPORT_CHECK[name]],
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            check = "ok" if proc.returncode == 0 else "FAILED: " + (proc.stdout.strip().splitlines() or ["?"])[-1]
            shutil.rmtree(last.parent, ignore_errors=True)
        except Exception as err:  # reported, never raised: the tables are always printed
            print("!! cold hydration: %s" % err, file=sys.stderr)

        med = {label: median_run(r) if len(r) == runs else None for label, r in results.items()}
        floor = med["floor"]
        hydrate_rows = []
        for label, _, extra in contenders[:2]:
            ours = med[label]
            if ours and floor:
                ratio = ours[0] / floor[0]
                cells = ["%.2fx" % ratio, "<=%gx" % TARGET, "yes" if ratio <= TARGET else "NO"]
            else:
                cells = ["n/a", "<=%gx" % TARGET, "n/a"]
            fl = floor[1] if floor else {}
            best = "n/a"
            if ours and floor:  # less sensitive to other work on the machine than the median
                best = "%.2fx" % (min(r[0] for r in results[label]) / min(r[0] for r in results["floor"]))
            hydrate_rows.append([
                label, str(len(items)), mib(size), secs(ours and ours[0]), secs(floor and floor[0]),
                secs(fl.get("download")), secs(floor and floor[0] - fl.get("download", 0.0)), *cells, best,
                "%s: %s" % (IMPORT_CHECK[name], check) if not extra else ""])

        parts = []
        for label, kind, _ in contenders:
            result = med[label]
            if result is None:
                parts.append([label] + ["failed"] * 9)
                continue
            wall, got = result
            imports = got.get("imports", 0.0) + got.get("engine_imports", 0.0)
            if kind == "create":
                measured, total = got.get("imports", 0.0) + got.get("work", 0.0), got.get("work", 0.0)
                transfer = got.get("download", 0.0) - got.get("copy", 0.0) - got.get("verify", 0.0)
            else:
                measured = sum(got.get(k, 0.0) for k in ("imports", "download", "engine_imports", "create"))
                total = got.get("download", 0.0) + got.get("create", 0.0)
                transfer = got.get("download", 0.0)
            other = total - sum(got.get(k, 0.0) for k in ("lock", "download", "install"))
            parts.append([label] + ["%.2f" % v for v in (
                wall, wall - measured, imports, got.get("lock", 0.0), transfer, got.get("copy", 0.0),
                got.get("verify", 0.0), got.get("install", 0.0), other)])

        # ---- 2. publishing environments whose packages are all stored ---------------------
        publish_rows = []
        exact = "==" + lock_data["python"]  # another req_id for the same packages
        cases = [
            ("same environment, fresh machine", reqs, [], {}),
            ("new req_id, same %d packages (all pinned)" % len(pinned), pinned, [], {}),
            ("new req_id, subset (%s)" % " ".join(SUBSET), SUBSET, [], {}),
            ("as 2nd row, python %s, W=%d" % (exact, FEW_WORKERS), pinned, [exact], few),
        ]
        for label, case_reqs, python, extra in cases:
            try:
                env, home = machine(proxy, **extra)
                mark = proxy.mark()
                wall, got = run_child(OURS_CHILD, ["publish", json.dumps(case_reqs), str(home / "lock.json"),
                                                   *python], env, home)
                counts = classify(proxy.requests_since(mark))
                shutil.rmtree(home, ignore_errors=True)
                publish_rows.append([label, str(got["packages"]), "%.2f" % got["publish"]] + [
                    str(counts[k]) for k in ("LIST", "HEAD", "GET", "PUT", "other", "total", "package PUTs")
                ] + [mib(counts["up"])])
            except Exception as err:
                print("!! publish %s: %s" % (label, err), file=sys.stderr)
                publish_rows.append([label] + ["failed"] * 10)

        # The cold hydration's requests, for comparison (one more run of ours, through the proxy).
        try:
            env, home = machine(proxy)
            mark = proxy.mark()
            run_child(OURS_CHILD, ["create", *env_id, str(home / "prefix")], env, home)
            counts = classify(proxy.requests_since(mark))
            shutil.rmtree(home, ignore_errors=True)
            hydrate_requests = [str(counts[k]) for k in ("LIST", "HEAD", "GET", "PUT", "other", "total")] + [
                mib(counts["down"])]
        except Exception as err:
            print("!! hydrate through the proxy: %s" % err, file=sys.stderr)
            hydrate_requests = ["failed"] * 7

        table("Cold hydration from S3 (median seconds; ours = fresh process, empty caches, "
              "Environments.get + create, Metaflow's S3 defaults; W=%d: METAFLOW_S3_WORKER_COUNT=%d; "
              "floor = fresh process, boto3 GET x%d threads into the package cache + create_prefix "
              "without store; floor rest = its wall minus the GET)" % (FEW_WORKERS, FEW_WORKERS, FLOOR_WORKERS),
              ["", "packages", "bytes", "ours s", "floor s", "floor GET s", "floor rest s", "ours/floor",
               "target", "met", "best/best", "prefix works"], hydrate_rows)
        table("Cold hydration, where the time goes (median run, seconds; startup = wall minus what the "
              "child measured; S3 = the transfer (ours: Metaflow's load_bytes, s3op); copy + verify = "
              "Metaflow's temp file into our cache and its sha256; install = uv venv + uv pip install, "
              "incl. finding the interpreter)",
              ["", "wall", "startup", "imports", "lock", "S3", "copy", "verify", "install", "other"], parts)
        table("Publishing environments whose packages are all in the store (fresh machine: empty "
              "caches and index; S3 requests counted at a proxy; publish s = Environments.publish only; "
              "W=%d: METAFLOW_S3_WORKER_COUNT=%d)" % (FEW_WORKERS, FEW_WORKERS),
              ["environment", "pkgs", "publish s", "LIST", "HEAD", "GET", "PUT", "other", "total",
               "package PUTs", "bytes up"], publish_rows)
        table("S3 requests of one cold hydration (for comparison)",
              ["LIST", "HEAD", "GET", "PUT", "other", "total", "bytes down"], [hydrate_requests])
        print("\nLoad average at the end: %.1f (1 min), %.1f (5 min): other work on the machine skews timings."
              % os.getloadavg()[:2])
    finally:
        proxy.stop()
        server.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
