"""Resolve an environment from a requirements file, create it, and run code inside it.

    python examples/create_env.py [requirements.txt] [--platform osx-arm64 ...]

Without arguments it uses examples/requirements.txt. For extra platforms it only resolves
(you cannot run an osx-arm64 Python on Linux) and prints the lock summary.
"""
import argparse
import subprocess
import sys
import tempfile
from contextlib import ExitStack
from pathlib import Path

from metaflow_extensions.envs.plugins.envs.environments import build_prefix_python
from metaflow_extensions.envs.plugins.envs.errors import exit_on_user_error
from metaflow_extensions.envs.plugins.envs.hydrate.install import create_prefix
from metaflow_extensions.envs.plugins.envs.hydrate.prefix import python_in
from metaflow_extensions.envs.plugins.envs.resolve.platforms import host_platform
from metaflow_extensions.envs.plugins.envs.resolve.resolver import resolve_environment
from metaflow_extensions.envs.plugins.envs.spec import parse_file

HERE = Path(__file__).resolve().parent


@exit_on_user_error
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("requirements", nargs="?", default=str(HERE / "requirements.txt"))
    parser.add_argument("--platform", action="append", default=[])
    parser.add_argument("--prefix", default=None, help="where to create the environment")
    args = parser.parse_args()

    spec = parse_file(args.requirements)
    with ExitStack() as cleanup:
        for platform in [host_platform()] + [p for p in args.platform if p != host_platform()]:
            env = resolve_environment(spec.for_platform(platform), build_python=build_prefix_python)
            print("%s  req_id=%s full_id=%s python=%s  %d packages (%s)" % (
                platform, env.req_id[:12], env.full_id[:12], env.python_version,
                len(env.packages), env.env_type))
            for pkg in env.packages:
                print("    %-8s %-28s %s" % (pkg.kind, pkg.name, pkg.version))
            if platform != host_platform():
                continue
            # Without --prefix the environment lives in a temporary folder, removed at the end.
            root = args.prefix or cleanup.enter_context(tempfile.TemporaryDirectory(prefix="mfenvs-example-"))
            prefix = create_prefix(env, Path(root) / env.full_id[:12])
            names = [p.name.replace("-", "_") for p in env.pypi_packages() if p.name in ("requests", "rich")]
            code = "import sys, %s; print('running in', sys.prefix)" % ", ".join(names or ["json"])
            sys.stdout.flush()  # our lines first, then the child's
            subprocess.run([str(python_in(prefix)), "-c", code], check=True)


if __name__ == "__main__":
    main()
