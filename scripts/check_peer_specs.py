#!/usr/bin/env python3
"""Parse and resolve every requirement file of a directory; print a table of the results.

Not part of the test suite: a by-hand check against other projects' real-world files
(default: ../shared/peer-specs beside the repository, where we keep a peer project's).

    python scripts/check_peer_specs.py [DIR] [--test-channels]

Conda packages come from the channels configured in the environment (METAFLOW_CONDA_*);
--test-channels serves the test suite's local channels instead (built on first use).
"""
import argparse
import os
import sys
import time
from contextlib import ExitStack
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from metaflow_extensions.envs.plugins.envs.environments import build_prefix_python  # noqa: E402
from metaflow_extensions.envs.plugins.envs.errors import EnvError  # noqa: E402
from metaflow_extensions.envs.plugins.envs.resolve.resolver import resolve_environment  # noqa: E402
from metaflow_extensions.envs.plugins.envs.spec import parse_file  # noqa: E402

SPEC_SUFFIXES = (".txt", ".yml", ".yaml", ".toml")


def check(path: Path) -> str:
    """`<env type>  ok: <n> conda + <m> pypi`, or the error (its lines after the first indented)."""
    try:
        spec = parse_file(str(path))
    except EnvError as err:
        return "parse error: %s" % err
    try:
        kinds = [p.kind for p in resolve_environment(spec, build_python=build_prefix_python).packages]
    except EnvError as err:
        return "%-10s  resolve error: %s" % (spec.env_type, err)
    return "%-10s  ok: %d conda + %d pypi" % (spec.env_type, kinds.count("conda"), kinds.count("pypi"))


def use_test_channels(stack: ExitStack) -> None:
    from tests.fixtures.channel import ensure_channels
    from tests.fixtures.servers import StaticFileServer

    server = stack.enter_context(StaticFileServer(ensure_channels()))
    os.environ["METAFLOW_CONDA_CHANNEL_ALIAS"] = server.url + "/"
    os.environ["METAFLOW_CONDA_CHANNELS"] = "conda-forge"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default = REPO.parent / "shared" / "peer-specs"
    parser.add_argument("directory", nargs="?", type=Path, default=default, help="default: %s" % default)
    parser.add_argument("--test-channels", action="store_true", help="use the test suite's local channels")
    args = parser.parse_args()
    if not args.directory.is_dir():
        parser.error("no directory %s: give the directory of requirement files" % args.directory)
    files = sorted(p for p in args.directory.iterdir() if p.suffix in SPEC_SUFFIXES)
    width = max((len(p.name) for p in files), default=0)
    with ExitStack() as stack:
        if args.test_channels:
            use_test_channels(stack)
        for path in files:
            start = time.monotonic()
            result = check(path)
            row = "%-*s  %6.1fs  %s" % (width, path.name, time.monotonic() - start, result)
            print(row.replace("\n", "\n    "), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
