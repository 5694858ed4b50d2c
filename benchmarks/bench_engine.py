#!/usr/bin/env python
"""Resolution and hydration speed of metaflow-envs against pip, from warm caches.

    python benchmarks/bench_engine.py [--quick] [--runs N] [--cache-dir DIR]

Prints tables and never asserts: a failed measurement shows as "failed" (details on stderr).
Run it with an interpreter that has metaflow-envs installed; see benchmarks/README.md.
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
from typing import Callable, Dict, List, Optional, Sequence, Tuple

from report import secs, table  # benchmarks/report.py (this script's folder)

SET_A = ["pandas", "scikit-learn", "matplotlib", "requests", "boto3",
         "rich", "statsmodels", "plotly", "pyarrow", "sqlalchemy"]
SET_B = SET_A + ["jupyterlab", "dask[complete]", "fastapi[standard]", "apache-beam"]
IMPORT_CHECK = {"A": "import pandas, sklearn",
                "B": "import pandas, sklearn, dask.dataframe, fastapi, apache_beam, jupyterlab"}
PYPI = "https://pypi.org/simple"
TARGET = 10.0  # wanted speed-up over pip

# Our side runs in a fresh interpreter through the public engine API. The wrappers only add
# up where the time goes (they cost microseconds); `startup` is wall time minus what the
# child measured, i.e. interpreter start-up and exit.
_TIMING = """
import json, sys, time
t0 = time.perf_counter()
from pathlib import Path
spent = {}
def timed(module, attr, key=None):
    fn = getattr(module, attr)
    def wrapper(*args, **kwargs):
        name = key or "uv " + args[0][0]
        start = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            spent[name] = spent.get(name, 0.0) + time.perf_counter() - start
    setattr(module, attr, wrapper)
"""
RESOLVE_CHILD = _TIMING + """
from metaflow_extensions.envs.plugins.envs.spec.model import EnvSpec, PypiDep
from metaflow_extensions.envs.plugins.envs import settings
from metaflow_extensions.envs.plugins.envs.resolve import pypi, resolver
t1 = time.perf_counter()
timed(settings, "get", "settings")  # the first call imports metaflow (its configuration)
timed(resolver, "find_interpreter", "find python")
timed(pypi, "run_uv", "uv compile")
spec = EnvSpec(pypi_deps=tuple(PypiDep.parse(r) for r in sys.argv[2:]), python="3.11.*", platform="linux-64")
env = resolver.resolve_environment(spec)
t2 = time.perf_counter()
Path(sys.argv[1]).write_text(env.to_json())
print(json.dumps(dict(spent, imports=t1 - t0, work=t2 - t1, packages=len(env.packages))))
"""
HYDRATE_CHILD = _TIMING + """
from metaflow_extensions.envs.plugins.envs.lock import ResolvedEnvironment
from metaflow_extensions.envs.plugins.envs.hydrate import install
t1 = time.perf_counter()
timed(install, "find_interpreter", "find python")
timed(install, "run_uv")
env = ResolvedEnvironment.from_json(Path(sys.argv[1]).read_text())
install.create_prefix(env, Path(sys.argv[2]))
t2 = time.perf_counter()
print(json.dumps(dict(spent, imports=t1 - t0, work=t2 - t1)))
"""

Run = Tuple[float, Dict[str, float]]  # wall seconds, breakdown reported by the child


def run(cmd: Sequence[str], env: Optional[Dict[str, str]] = None) -> Run:
    """Run `cmd`, return its wall time (and its JSON breakdown, for our children)."""
    start = time.perf_counter()
    proc = subprocess.run(list(cmd), env=env, stdin=subprocess.DEVNULL,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise RuntimeError("%s failed (%d):\n%s" % (" ".join(cmd[:4]), proc.returncode, proc.stderr[-3000:]))
    last = proc.stdout.strip().splitlines()[-1:] or [""]
    return wall, (json.loads(last[0]) if last[0].startswith("{") else {})


def measure(label: str, once: Callable[[int], Run], runs: int) -> Optional[Run]:
    """Warm up once, then the run with the median wall time of `runs` (None on failure)."""
    return measure_interleaved({label: once}, runs)[label]


def measure_interleaved(onces: Dict[str, Callable[[int], Run]], runs: int) -> Dict[str, Optional[Run]]:
    """`measure` for several commands, taking turns (a, b, c, a, b, c...) so that a change
    of load on the machine hits all of them alike."""
    results: Dict[str, List[Run]] = {label: [] for label in onces}
    failed: Dict[str, Exception] = {}
    for i in range(runs + 1):  # round 0 is the warm-up
        for label, once in onces.items():
            if label in failed:
                continue
            try:
                result = once(i)
            except Exception as err:  # reported, never raised: the benchmark always prints its tables
                failed[label] = err
                print("!! %s: %s" % (label, err), file=sys.stderr)
                continue
            if i:
                results[label].append(result)
    medians: Dict[str, Optional[Run]] = {}
    for label, got in results.items():
        if label in failed:
            medians[label] = None
            continue
        got.sort(key=lambda r: r[0])
        medians[label] = got[len(got) // 2]
        print("   %-28s median %.2fs of %s" % (label, got[len(got) // 2][0], ["%.2f" % r[0] for r in got]),
              flush=True)
    return medians


def output(cmd: Sequence[str]) -> str:
    return subprocess.run(list(cmd), stdout=subprocess.PIPE, text=True).stdout.strip()


def pip_env() -> Dict[str, str]:
    """Ignore this machine's pip config (extra local indexes, constraints): pypi.org only."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_")}
    env["PIP_CONFIG_FILE"] = os.devnull
    return env


def ratio_cells(ours: Optional[Run], base: Optional[Run]) -> List[str]:
    if ours is None or base is None:
        return ["n/a", ">=%gx" % TARGET, "n/a"]
    ratio = base[0] / ours[0]
    return ["%.1fx" % ratio, ">=%gx" % TARGET, "yes" if ratio >= TARGET else "NO"]


def breakdown(name: str, result: Optional[Run], keys: Sequence[str]) -> List[str]:
    """wall | startup | imports | <keys> | other, from the child's own timings."""
    if result is None:
        return [name] + ["failed"] * (len(keys) + 4)
    wall, got = result
    parts = [got.get(k, 0.0) for k in keys]
    other = got.get("work", 0.0) - sum(parts)
    startup = wall - got.get("imports", 0.0) - got.get("work", 0.0)
    return [name] + ["%.2f" % v for v in [wall, startup, got.get("imports", 0.0), *parts, other]]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="set A only, one timed run (smoke test)")
    parser.add_argument("--runs", type=int, default=3, help="timed runs after the warm-up (median)")
    parser.add_argument("--cache-dir", type=Path, help="our cache dir (kept); default: a temp dir")
    args = parser.parse_args()
    runs = 1 if args.quick else args.runs
    sets = {"A": SET_A} if args.quick else {"A": SET_A, "B": SET_B}

    from metaflow_extensions.envs.plugins.envs.plumbing.interpreters import find_interpreter, version_of

    tmp = Path(tempfile.mkdtemp(prefix="mfenvs-bench-"))
    cache = (args.cache_dir or tmp / "cache").absolute()
    # Bytecode is cached, as in any installed package (a shell with PYTHONDONTWRITEBYTECODE
    # would otherwise make every run compile the engine's modules again).
    ours_env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    ours_env.update(METAFLOW_CONDA_PYTHON_SOURCE="system", METAFLOW_CONDA_CACHE_DIR=str(cache))
    os.environ.update(METAFLOW_CONDA_PYTHON_SOURCE="system")  # for find_interpreter below
    python = find_interpreter("3.11.*")
    pip_cmd = ["--isolated", "--disable-pip-version-check"]
    try:
        # One throwaway venv with current pip for the resolution baseline (default pip caches).
        venv = tmp / "pip-resolve"
        run([python, "-m", "venv", str(venv)])
        run([str(venv / "bin/python"), "-m", "pip", "install", "-q", *pip_cmd, "--index-url", PYPI, "-U", "pip"],
            env=pip_env())
        pip_version = output([str(venv / "bin/python"), "-c", "import pip; print(pip.__version__)"])
        bundled = output([python, "-c", "import ensurepip; print(ensurepip.version())"])
        print("Python %s (%s); our cache %s; %d timed run(s) after a warm-up; pip %s (resolution), "
              "pip %s bundled with venv (hydration); %d CPUs"
              % (version_of(python), python, cache, runs, pip_version, bundled, os.cpu_count() or 0), flush=True)

        resolve_rows, resolve_parts, hydrate_rows, hydrate_parts = [], [], [], []
        for name, reqs in sets.items():
            lock = tmp / ("lock-%s.json" % name)
            report = tmp / ("pip-report-%s.json" % name)
            print("Set %s (%d requirements)" % (name, len(reqs)), flush=True)

            # 1. Resolution: ours through the CLI and through the engine API in a fresh
            # interpreter, vs pip --dry-run --report. The last of ours does without uv's cache
            # (METAFLOW_CONDA_PYPI_INDEX_MAX_AGE=0): what the cache is worth on this index.
            requirements = tmp / ("requirements-%s.txt" % name)
            requirements.write_text("\n".join(reqs) + "\n")
            cli_cmd = [str(Path(sys.executable).parent / "metaflow"), "environment", "--quiet", "resolve",
                       "-r", str(requirements), "--python", "3.11", "--dry-run", "--force"]
            pip_cmd_line = [str(venv / "bin/python"), "-m", "pip", "install", *pip_cmd, "--index-url", PYPI,
                            "--dry-run", "--ignore-installed", "--quiet", "--report", str(report), *reqs]
            got = measure_interleaved({
                "resolve ours, CLI": lambda i: run(cli_cmd, env=ours_env),
                "resolve ours, API": lambda i: run([sys.executable, "-c", RESOLVE_CHILD, str(lock), *reqs],
                                                   env=ours_env),
                "resolve ours, CLI, max-age 0": lambda i: run(
                    cli_cmd, env=dict(ours_env, METAFLOW_CONDA_PYPI_INDEX_MAX_AGE="0")),
                "resolve pip": lambda i: run(pip_cmd_line, env=pip_env()),
            }, runs)
            cli, ours, refetch, pip = (got["resolve ours, CLI"], got["resolve ours, API"],
                                       got["resolve ours, CLI, max-age 0"], got["resolve pip"])
            n_ours = int(ours[1]["packages"]) if ours else 0
            n_pip = len(json.loads(report.read_text())["install"]) if pip else 0
            for how, result in (("CLI", cli), ("engine API", ours), ("CLI, max-age 0", refetch)):
                cells = ratio_cells(result, pip)
                if result is refetch:
                    cells[1:] = ["(comparison)", ""]  # the target is for the defaults
                resolve_rows.append(["%s, %s" % (name, how), "%d / %d" % (n_ours, n_pip),
                                     secs(result and result[0]), secs(pip and pip[0]), *cells])
            resolve_parts.append(breakdown(name, ours, ["settings", "find python", "uv compile"]))
            if ours is None:
                continue  # no lock, nothing to hydrate

            # 2. Hydration from warm caches: every run into a new prefix / venv.
            def ours_once(i: int) -> Run:
                prefix = tmp / ("prefix-%s-%d" % (name, i))
                result = run([sys.executable, "-c", HYDRATE_CHILD, str(lock), str(prefix)], env=ours_env)
                if i < runs:  # keep the last prefix for the import check
                    shutil.rmtree(prefix)
                return result

            from metaflow_extensions.envs.plugins.envs.lock import ResolvedEnvironment

            env = ResolvedEnvironment.from_json(lock.read_text())
            wheels = [str(cache / "pkgs" / "pypi" / p.sha256 / p.filename) for p in env.pypi_packages()]

            def pip_once(i: int) -> Run:
                target = tmp / ("pip-venv-%s-%d" % (name, i))
                start = time.perf_counter()
                run([python, "-m", "venv", str(target)])
                run([str(target / "bin/pip"), "install", *pip_cmd, "--no-deps", "--no-index", *wheels],
                    env=pip_env())
                wall = time.perf_counter() - start
                shutil.rmtree(target)
                return wall, {}

            ours_h = measure("hydrate ours", ours_once, runs)  # its warm-up fills the package cache
            pip_h = measure("hydrate pip venv+install", pip_once, runs)
            check = "n/a"
            last = tmp / ("prefix-%s-%d" % (name, runs))
            if ours_h is not None:
                proc = subprocess.run([str(last / "bin/python"), "-c", IMPORT_CHECK[name]],
                                      stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
                check = "ok" if proc.returncode == 0 else "FAILED: " + proc.stdout.strip().splitlines()[-1]
                shutil.rmtree(last, ignore_errors=True)
            hydrate_rows.append([name, str(len(wheels)), secs(ours_h and ours_h[0]), secs(pip_h and pip_h[0]),
                                 *ratio_cells(ours_h, pip_h), "%s: %s" % (IMPORT_CHECK[name], check)])
            hydrate_parts.append(breakdown(name, ours_h, ["find python", "uv venv", "uv pip"]))

        table("Resolution, warm caches (median seconds; ours: CLI = `metaflow environment resolve --dry-run "
              "--force`, engine API = fresh `python -c` calling resolve_environment, max-age 0 = without uv's "
              "cache; pip = pip install --dry-run --report)",
              ["set", "pkgs ours / pip", "ours s", "pip s", "pip/ours", "target", "met"], resolve_rows)
        table("Our resolution through the engine API, where the time goes (median run, seconds; settings "
              "includes importing metaflow for its configuration)",
              ["set", "wall", "startup", "imports", "settings", "find python", "uv compile", "other"],
              resolve_parts)
        table("Hydration from warm caches into a new prefix (median seconds; pip = python -m venv "
              "+ pip install --no-deps --no-index <our cached wheels>)",
              ["set", "wheels", "ours s", "pip s", "pip/ours", "target", "met", "prefix works"], hydrate_rows)
        table("Our hydration, where the time goes (median run, seconds)",
              ["set", "wall", "startup", "imports", "find python", "uv venv", "uv pip install", "other"],
              hydrate_parts)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)  # prefixes, venvs, locks (and the cache if temporary)


if __name__ == "__main__":
    main()
