#!/usr/bin/env python
"""Creating an environment from a warm cache, against uv alone doing the same install.

    python benchmarks/bench_create.py [--runs N] [--cache-dir DIR]

Ours: a fresh interpreter calling `create_prefix` on set A's lock (PyPI only, the system
Python), every package already in our cache. Baseline: `uv venv` + `uv pip install --offline
--no-deps <the same cached wheels>` with the same uv binary and the same (warm) uv cache.
Interleaved runs, medians, the ratio ours/uv. Prints tables and never asserts.
"""
import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

from bench_engine import HYDRATE_CHILD, RESOLVE_CHILD, SET_A, Run, breakdown, measure_interleaved, run
from report import secs, table  # benchmarks/ (this script's folder)

TARGET = 1.2  # wanted: ours at most this many times uv's time


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=7, help="timed runs of each after the warm-up (median)")
    parser.add_argument("--cache-dir", type=Path, help="our cache dir (kept); default: a temp dir")
    args = parser.parse_args()

    from metaflow_extensions.envs.plugins.envs.lock import ResolvedEnvironment
    from metaflow_extensions.envs.plugins.envs.plumbing.interpreters import find_interpreter, version_of
    from metaflow_extensions.envs.plugins.envs.plumbing.uv import uv_binary

    tmp = Path(tempfile.mkdtemp(prefix="mfenvs-bench-create-"))
    cache = (args.cache_dir or tmp / "cache").absolute()
    # Bytecode is cached, as in any installed package.
    ours_env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    ours_env.update(METAFLOW_CONDA_PYTHON_SOURCE="system", METAFLOW_CONDA_CACHE_DIR=str(cache))
    # uv exactly as our create runs it: our uv cache, no user configuration.
    uv_env = {k: v for k, v in os.environ.items() if not k.startswith(("UV_", "VIRTUAL_ENV", "CONDA_PREFIX"))}
    uv_env.update(UV_CACHE_DIR=str(cache / "uv"), UV_NO_CONFIG="1", UV_PYTHON_DOWNLOADS="never")
    os.environ.update(METAFLOW_CONDA_PYTHON_SOURCE="system")  # for find_interpreter below
    uv = uv_binary()
    try:
        lock = tmp / "lock-A.json"
        run([sys.executable, "-c", RESOLVE_CHILD, str(lock), *SET_A], env=ours_env)
        env = ResolvedEnvironment.from_json(lock.read_text())
        python = find_interpreter("==" + env.python_version)
        wheels = [str(cache / "pkgs" / "pypi" / p.sha256 / p.filename) for p in env.pypi_packages()]
        print("Python %s (%s); %s; our cache %s; %d wheels; %d timed run(s) after a warm-up; %d CPUs; "
              "load average %.1f" % (version_of(python), python, uv, cache, len(wheels), args.runs,
                                     os.cpu_count() or 0, os.getloadavg()[0]), flush=True)

        def ours_once(i: int) -> Run:
            prefix = tmp / ("ours-%d" % i)
            result = run([sys.executable, "-c", HYDRATE_CHILD, str(lock), str(prefix)], env=ours_env)
            shutil.rmtree(prefix)
            return result

        def uv_once(i: int) -> Run:
            venv = tmp / ("uv-%d" % i)
            start = time.perf_counter()
            run([uv, "venv", "--quiet", "--python", python, str(venv)], env=uv_env)
            run([uv, "pip", "install", "--quiet", "--offline", "--no-deps", "--no-index",
                 "--python", str(venv / "bin" / "python"), *wheels], env=uv_env)
            wall = time.perf_counter() - start
            shutil.rmtree(venv)
            return wall, {}

        # Round 0 (the warm-up) fills our package cache and uv's, so every timed run is warm.
        got = measure_interleaved({"create ours": ours_once, "uv venv + pip install": uv_once}, args.runs)
        ours, base = got["create ours"], got["uv venv + pip install"]
        ratio = "%.2fx" % (ours[0] / base[0]) if ours and base else "n/a"
        met = "n/a" if not (ours and base) else ("yes" if ours[0] / base[0] <= TARGET else "NO")
        table("Create from a warm cache, set A (median seconds; ours = fresh `python -c` calling create_prefix, "
              "METAFLOW_CONDA_PYTHON_SOURCE=system; uv = uv venv + uv pip install --offline --no-deps "
              "<our cached wheels>, same uv and uv cache)",
              ["set", "wheels", "ours s", "uv s", "ours/uv", "target", "met"],
              [["A", str(len(wheels)), secs(ours and ours[0]), secs(base and base[0]), ratio, "<=%gx" % TARGET,
                met]])
        table("Our create, where the time goes (median run, seconds)",
              ["set", "wall", "startup", "imports", "find python", "uv venv", "uv pip install", "other"],
              [breakdown("A", ours, ["find python", "uv venv", "uv pip"])])
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
