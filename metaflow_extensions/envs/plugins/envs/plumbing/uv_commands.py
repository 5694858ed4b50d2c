"""uv's command lines, built in one place: each stage says what it wants uv to do, this
module spells the flags (run them with plumbing/uv.py's `run_uv`). Sources, credentials and
the environment are not here: they come from the caller, never on a command line."""
from typing import List, Sequence


def compile_args(python_version: str, python_platform: str, python: str) -> List[str]:
    """`uv pip compile` of requirements.in (in the working directory) into pylock.toml, for
    the target Python `python_version` on `python_platform` (uv's `--python-platform` name)."""
    return [
        "pip", "compile", "requirements.in",
        "--format", "pylock.toml", "-o", "pylock.toml", "--quiet",
        "--python-version", python_version,
        "--python-platform", python_platform,
        "--python", python,
    ]


def build_wheel_args(out_dir: str, python: str, tree: str) -> List[str]:
    """`uv build` of one wheel from the source tree `tree` into `out_dir`, with `python`."""
    return ["build", "--wheel", "--out-dir", out_dir, "--python", python, tree]


def export_pylock_args(extras: Sequence[str], groups: Sequence[str], dev: bool, out: str) -> List[str]:
    """`uv export` of the project's uv.lock (in the working directory) into the pylock.toml
    `out`, without the project itself: uv's default groups (`dev` only when `dev`), plus
    `extras` and `groups`."""
    args = ["export", "--frozen", "--offline", "--format", "pylock.toml", "--no-emit-project", "--quiet"]
    for extra in extras:
        args += ["--extra", extra]
    for group in groups:
        args += ["--group", group]
    if not dev and "dev" not in groups:
        args.append("--no-dev")
    return args + ["-o", out]


def venv_args(interpreter: str, prefix: str) -> List[str]:
    """`uv venv` at `prefix` with `interpreter`, keeping what the prefix already holds."""
    return ["venv", "--quiet", "--allow-existing", "--python", interpreter, prefix]


def install_wheels_args(python: str, wheels: Sequence[str]) -> List[str]:
    """`uv pip install` of exactly these wheel files into `python`'s environment: no
    dependencies, no index, nothing from the network."""
    return ["pip", "install", "--quiet", "--no-deps", "--no-index", "--offline",
            "--break-system-packages", "--python", python, *wheels]
