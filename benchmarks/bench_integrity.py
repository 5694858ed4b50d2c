#!/usr/bin/env python
"""What hydration's integrity checks cost: warm `create` of set A by this checkout against an
earlier metaflow-envs installed in another interpreter (e.g. the last release).

    python benchmarks/bench_integrity.py --baseline-python /path/to/old-venv/bin/python [--runs N]

Both versions resolve set A into their own lock and share one package cache, so each timed run
creates a new prefix from warm caches; the runs take turns. Prints a table, never asserts.
"""
import argparse
import os
import shutil
import sys
import tempfile
from pathlib import Path

from bench_engine import HYDRATE_CHILD, RESOLVE_CHILD, SET_A, Run, measure_interleaved, run  # this folder
from report import secs, table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--baseline-python", required=True, help="an interpreter with the earlier version installed")
    parser.add_argument("--runs", type=int, default=7, help="timed runs after the warm-up (median)")
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="mfenvs-bench-integrity-"))
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env.update(METAFLOW_CONDA_PYTHON_SOURCE="system", METAFLOW_CONDA_CACHE_DIR=str(tmp / "cache"))
    versions = {"this checkout": sys.executable, "baseline": args.baseline_python}
    os.chdir(tmp)  # `python -c` puts the working directory first on sys.path: no checkout there
    try:
        for label, python in versions.items():
            run([python, "-c", RESOLVE_CHILD, str(tmp / ("lock-%s.json" % label)), *SET_A], env=env)

        def create(label: str):
            def once(i: int) -> Run:
                prefix = tmp / ("prefix-%s-%d" % (label.replace(" ", "-"), i))
                result = run([versions[label], "-c", HYDRATE_CHILD, str(tmp / ("lock-%s.json" % label)),
                              str(prefix)], env=env)
                shutil.rmtree(prefix)
                return result
            return once

        print("Set A, warm caches, %d timed runs each after a warm-up, taking turns" % args.runs, flush=True)
        got = measure_interleaved({label: create(label) for label in versions}, args.runs)
        now, base = got["this checkout"], got["baseline"]
        cost = "n/a" if now is None or base is None else "%+.1f%%" % (100.0 * (now[0] - base[0]) / base[0])
        table("Warm create of set A into a new prefix (median wall seconds of a fresh process)",
              ["this checkout s", "baseline s", "cost of the checks"],
              [[secs(now and now[0]), secs(base and base[0]), cost]])
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
