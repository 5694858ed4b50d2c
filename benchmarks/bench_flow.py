#!/usr/bin/env python
"""Environments in real local flows: the overhead of a shared environment on a 10-step flow,
and resolving 8 environments for one flow against resolving one.

    PYTHONPATH=. python benchmarks/bench_flow.py [--quick] [--runs N]

Generates the flows in a temporary directory and runs each as `python flow.py --no-pylint
[--environment=pypi] run` in a subprocess (local datastore and metadata in that directory,
METAFLOW_CONDA_PYTHON_SOURCE=system: the Python of this machine, PyPI from pypi.org).

1. Ten steps sharing one `@pypi_base(packages={"six": ""})` environment, already resolved and
   hydrated by an untimed first run, against the same flow without the decorator and without
   `--environment`. Wall time of the `run` process. Target: at most 1.2x. The flows run without
   PYTHONDONTWRITEBYTECODE; one more row shows the environment flow with it set.
2. Resolution phase of a flow whose 8 steps each have a different one-package `@pypi`, against
   the same flow where only one step has it. Every timed run starts from an empty
   METAFLOW_CONDA_CACHE_DIR (no lock, no local index: everything is resolved) holding a copy of
   a pre-warmed uv cache. The phase is timed from the line "Resolving N environments" to the
   lines reporting them, as they reach this process. Target: at most 2x.

Prints tables and never asserts; a failed measurement shows as "failed" (details on stderr).
"""
import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

from report import secs, table  # benchmarks/report.py (this script's folder)

TEN_STEPS = ["start"] + ["step%d" % i for i in range(1, 9)] + ["end"]
# Eight one-package environments, none of them inside the closure of `requests` (which every
# environment gets: Metaflow needs it in a task), so no two resolve to the same packages.
EIGHT = [("six", "1.16.0"), ("attrs", ""), ("packaging", ""), ("toml", ""), ("pyparsing", ""),
         ("decorator", ""), ("tabulate", ""), ("wcwidth", "")]
EIGHT_STEPS = ["start"] + ["step%d" % i for i in range(1, 7)] + ["end"]
TARGET_SHARED = 1.2  # env flow / plain flow, at most
TARGET_MANY = 2.0  # 8 environments / 1 environment, at most

# Settings of the outer process that would change what the flows do.
# PYTHONDONTWRITEBYTECODE too: part 1 measures it separately.
_DROPPED = ("PYTHONPATH", "PYTHONDONTWRITEBYTECODE", "METAFLOW_PROFILE", "METAFLOW_DEBUG_CONDA",
            "METAFLOW_DEFAULT_ENVIRONMENT", "METAFLOW_CONDA_USE_REMOTE_LATEST", "METAFLOW_CONDA_SRCS_AUTH_INFO", "METAFLOW_CONDA_CACHE_DIR",
            "METAFLOW_DATASTORE_SYSROOT_LOCAL", "METAFLOW_HOME", "METAFLOW_DEFAULT_DATASTORE",
            "METAFLOW_DEFAULT_METADATA")


def linear_flow(cls: str, steps: Sequence[str], flow_deco: str = "", step_decos: Optional[Dict[str, str]] = None) -> str:
    """Source of a linear flow: each step adds one to an artifact."""
    step_decos = step_decos or {}
    lines = ["from metaflow import FlowSpec, step, pypi, pypi_base", "", ""]
    if flow_deco:
        lines.append(flow_deco)
    lines.append("class %s(FlowSpec):" % cls)
    for i, name in enumerate(steps):
        if name in step_decos:
            lines.append("    " + step_decos[name])
        lines += ["    @step", "    def %s(self):" % name]
        lines.append("        self.count = 0" if i == 0 else "        self.count += 1")
        if i + 1 < len(steps):
            lines.append("        self.next(self.%s)" % steps[i + 1])
        lines.append("")
    lines += ["", 'if __name__ == "__main__":', "    %s()" % cls, ""]
    return "\n".join(lines)


class FlowRun:
    """One `run`: wall time and the time each output line reached us."""

    def __init__(self, wall: float, lines: List[Tuple[float, str]]) -> None:
        self.wall = wall
        self.lines = lines

    def at(self, pattern: str) -> Optional[float]:
        for when, text in self.lines:
            if re.search(pattern, text):
                return when
        return None

    def resolution(self) -> Optional[float]:
        """Seconds from "Resolving N environments" to the first line reporting one."""
        start = self.at(r"^Resolving \d+ environment")
        done = self.at(r"^    \S.*environment [0-9a-f]{12} .*(resolved in|reused)")
        return None if start is None or done is None else done - start

    def resolved_in(self) -> List[float]:
        return [float(m.group(1)) for _, t in self.lines for m in [re.search(r"resolved in ([0-9.]+)s", t)] if m]


def run_flow(flow: Path, env: Dict[str, str], environment: bool) -> FlowRun:
    cmd = [sys.executable, str(flow), "--no-pylint"] + (["--environment=pypi"] if environment else []) + ["run"]
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=str(flow.parent), env=env, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1)
    lines = []
    assert proc.stdout is not None
    for line in proc.stdout:
        lines.append((time.perf_counter() - start, line.rstrip("\n")))
    code = proc.wait()
    wall = time.perf_counter() - start
    if code != 0:
        raise RuntimeError("%s failed (%d):\n%s" % (" ".join(cmd[1:]), code, "\n".join(t for _, t in lines[-40:])))
    return FlowRun(wall, lines)


def median(values: List[float]) -> float:
    return statistics.median(values)


def ratio_cells(ours: Optional[float], base: Optional[float], target: float) -> List[str]:
    if ours is None or base is None:
        return ["n/a", "<=%gx" % target, "n/a"]
    ratio = ours / base
    return ["%.2fx" % ratio, "<=%gx" % target, "yes" if ratio <= target else "NO"]


def phases(run: FlowRun) -> List[float]:
    """launch (until "Workflow starting"), first task and the average of the others (from
    "Task is starting" to "Task finished", as the lines reach us), between tasks (the rest
    until the last task finished: the launcher preparing and starting each task), wrap-up
    (last task finished -> "Done!": decorators' runtime_finished, exit hooks), exit."""
    started = run.at(r"Workflow starting") or 0.0
    done = run.at(r"\bDone!") or run.wall
    begin: Dict[str, float] = {}
    spans: List[float] = []
    for when, text in run.lines:
        found = re.search(r"\[([^\]]+) \(pid \d+\)\] Task (is starting|finished successfully)", text)
        if found and found.group(2) == "is starting":
            begin[found.group(1)] = when
        elif found and found.group(1) in begin:
            spans.append(when - begin.pop(found.group(1)))
    first = spans[0] if spans else 0.0
    others = sum(spans[1:]) / len(spans[1:]) if len(spans) > 1 else 0.0
    finished = [w for w, t in run.lines if "Task finished successfully" in t]
    last = max(finished) if finished else done
    return [started, first, others, last - started - sum(spans), done - last, run.wall - done]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="one timed run of each (smoke test)")
    parser.add_argument("--runs", type=int, default=3, help="timed runs of each flow (median)")
    args = parser.parse_args()
    runs = 1 if args.quick else args.runs

    tmp = Path(tempfile.mkdtemp(prefix="mfenvs-bench-flow-"))
    flows = tmp / "flows"
    flows.mkdir()
    base_env = {k: v for k, v in os.environ.items() if k not in _DROPPED}
    base_env.update({
        "USERNAME": "bench",
        "METAFLOW_HOME": str(tmp / "home"),
        "METAFLOW_DATASTORE_SYSROOT_LOCAL": str(tmp / "datastore"),
        "METAFLOW_DEFAULT_DATASTORE": "local",
        "METAFLOW_DEFAULT_METADATA": "local",
        "METAFLOW_CONDA_PYTHON_SOURCE": "system",
    })

    def write(name: str, source: str) -> Path:
        path = flows / name
        path.write_text(source)
        return path

    shared = write("shared_env_flow.py", linear_flow("SharedEnvFlow", TEN_STEPS, '@pypi_base(packages={"six": ""})'))
    plain = write("plain_flow.py", linear_flow("PlainFlow", TEN_STEPS))
    decos = {s: "@pypi(packages={%r: %r})" % pkg for s, pkg in zip(EIGHT_STEPS, EIGHT)}
    eight = write("eight_envs_flow.py", linear_flow("EightEnvsFlow", EIGHT_STEPS, step_decos=decos))
    one = write("one_env_flow.py", linear_flow("OneEnvFlow", EIGHT_STEPS, step_decos={"start": decos["start"]}))

    try:
        print("Python %s; %d CPUs; load average %.1f; %d timed run(s) of each flow; flows and caches in %s"
              % (sys.version.split()[0], os.cpu_count() or 0, os.getloadavg()[0], runs, tmp), flush=True)

        # ---- 1. ten steps sharing one resolved environment vs no environment -------------
        # The flows run without PYTHONDONTWRITEBYTECODE (as most users do); the last
        # contender sets it, as some shells and CI images do: then no task in an environment
        # ever finds a .pyc (uv installs none, the code package is extracted afresh per run).
        warm_env = dict(base_env, METAFLOW_CONDA_CACHE_DIR=str(tmp / "cache-shared"))
        nopyc = dict(warm_env, PYTHONDONTWRITEBYTECODE="1")
        contenders = [("shared env", shared, True, warm_env), ("no env", plain, False, warm_env),
                      ("shared env, PYTHONDONTWRITEBYTECODE=1", shared, True, nopyc)]
        results: Dict[str, List[FlowRun]] = {c[0]: [] for c in contenders}
        try:
            first = run_flow(shared, warm_env, environment=True)  # resolves and hydrates: untimed
            print("   first run (resolve + hydrate, untimed) %.2fs; resolution %s" % (
                first.wall, ", ".join("%.1fs" % s for s in first.resolved_in()) or "n/a"), flush=True)
            run_flow(plain, warm_env, environment=False)  # warm-up (page cache)
            for _ in range(runs):  # interleaved, so drift hits all alike
                for label, flow, environment, env in contenders:
                    results[label].append(run_flow(flow, env, environment=environment))
            if not all(any("reused" in t for _, t in r.lines) for c in contenders if c[2] for r in results[c[0]]):
                print("!! a timed run of the shared-environment flow did not reuse its environment", file=sys.stderr)
            for label, _, _, _ in contenders:
                print("   %-38s median %.2fs of %s" % (label, median([r.wall for r in results[label]]),
                                                       ["%.2f" % r.wall for r in results[label]]), flush=True)
        except Exception as err:  # reported, never raised: the tables are always printed
            print("!! ten-step flows: %s" % err, file=sys.stderr)
        walls = {label: median([r.wall for r in rs]) if len(rs) == runs else None for label, rs in results.items()}
        shared_rows = [[label, str(len(TEN_STEPS)), secs(walls[label]), secs(walls["no env"]),
                        *ratio_cells(walls[label], walls["no env"], TARGET_SHARED)]
                       for label, _, environment, _ in contenders if environment]
        shared_parts = []
        for label, _, _, _ in contenders:
            if walls[label] is None:
                shared_parts.append([label] + ["failed"] * 7)
                continue
            mid = sorted(results[label], key=lambda r: r.wall)[len(results[label]) // 2]
            shared_parts.append([label] + ["%.2f" % v for v in [mid.wall] + phases(mid)])

        # ---- 2. resolving 8 environments vs 1 ---------------------------------------------
        # A uv cache that has seen every package: each timed run starts from a copy of it.
        warm = tmp / "cache-prewarm"
        many: Dict[str, List[FlowRun]] = {"1": [], "8": []}
        try:
            run_flow(eight, dict(base_env, METAFLOW_CONDA_CACHE_DIR=str(warm)), environment=True)
            counter = 0
            for _ in range(runs):
                for key, flow in (("1", one), ("8", eight)):
                    counter += 1
                    cache = tmp / ("cache-cold-%d" % counter)
                    cache.mkdir()
                    shutil.copytree(warm / "uv", cache / "uv", symlinks=True, copy_function=os.link)
                    many[key].append(run_flow(flow, dict(base_env, METAFLOW_CONDA_CACHE_DIR=str(cache)),
                                              environment=True))
                    shutil.rmtree(cache, ignore_errors=True)
            for key in ("1", "8"):
                print("   %-28s median %.2fs of %s" % (
                    "resolution, %s env%s" % (key, "s" if key == "8" else ""),
                    median([r.resolution() for r in many[key]]), ["%.2f" % r.resolution() for r in many[key]]),
                    flush=True)
        except Exception as err:
            print("!! resolution flows: %s" % err, file=sys.stderr)
        ok = all(len(v) == runs and all(r.resolution() is not None for r in v) for v in many.values())
        one_s = median([r.resolution() for r in many["1"]]) if ok else None
        eight_s = median([r.resolution() for r in many["8"]]) if ok else None
        many_rows = [[secs(one_s), secs(eight_s), *ratio_cells(eight_s, one_s, TARGET_MANY)]]
        many_parts = []
        for key in ("1", "8"):
            if not ok:
                many_parts.append([key] + ["failed"] * 5)
                continue
            mid = sorted(many[key], key=lambda r: r.resolution())[len(many[key]) // 2]
            each = mid.resolved_in()
            many_parts.append([key, "%.2f" % mid.resolution(),
                               "%.1f-%.1f" % (min(each), max(each)) if each else "n/a",
                               "%.2f" % (mid.at(r"^Resolving \d+ environment") or 0.0),
                               "%.2f" % (mid.at(r"Workflow starting") or 0.0), "%.2f" % mid.wall])

        table("A 10-step flow sharing one resolved and hydrated environment vs the same flow without "
              "any (median wall seconds of `python flow.py run`)",
              ["flow", "steps", "ours s", "plain s", "ours/plain", "target", "met"], shared_rows)
        table("10-step flows, where the time goes (median run, seconds; launch = until \"Workflow "
              "starting\"; a task = from \"Task is starting\" to \"Task finished\"; between tasks = "
              "the rest until the last one finished, summed; wrap-up = from then to \"Done!\"; "
              "exit = after \"Done!\")",
              ["flow", "wall", "launch", "first task", "other tasks (avg)", "between tasks", "wrap-up", "exit"],
              shared_parts)
        table("Resolving the environments of a flow, empty caches except uv's (median seconds from "
              "\"Resolving N environments\" to the lines reporting them)",
              ["1 env s", "8 envs s", "8/1", "target", "met"], many_rows)
        table("Resolution runs in detail (median run, seconds; \"resolved in\" = what the flow "
              "printed per environment; then when \"Resolving\" and \"Workflow starting\" were printed, "
              "and the whole run with hydration and tasks)",
              ["envs", "phase", "resolved in", "Resolving at", "Workflow starting at", "run wall"], many_parts)
        print("\nLoad average at the end: %.1f (1 min), %.1f (5 min): other work on the machine skews timings."
              % os.getloadavg()[:2])
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
