"""What the user asked for: the typed EnvSpec and one parser per input format.

`parse_file(path)` picks the parser from `kind` or the file name; each format module
(`requirements_txt`, `environment_yml`, `pyproject`) also offers `parse_text(text, source)`.
Lock files (`uv.lock`, `pylock.toml`: LOCK_KINDS) are read by `lockfiles` from their path.
Parsers only read the given file: they never resolve, download or look at the environment.
"""
import os
import re
from typing import Callable, Dict, Optional, Sequence

from ..errors import SpecError
from .model import (
    CONDA_PLATFORMS,
    ENV_TYPE_CONDA,
    ENV_TYPE_MIXED,
    ENV_TYPE_PYPI,
    CondaDep,
    EnvSpec,
    PypiDep,
    PypiSources,
)

__all__ = [
    "CONDA_PLATFORMS",
    "ENV_TYPE_CONDA",
    "ENV_TYPE_MIXED",
    "ENV_TYPE_PYPI",
    "CondaDep",
    "EnvSpec",
    "KINDS",
    "LOCK_KINDS",
    "PypiDep",
    "PypiSources",
    "SpecError",
    "kind_of",
    "parse_file",
    "parse_text",
]

# kind -> module with `parse_text(text, source)`; imported on use (YAML/TOML libraries are
# not needed by code that only reads locks).
KINDS: Dict[str, str] = {
    "requirements": "requirements_txt",
    "environment-yml": "environment_yml",
    "pyproject": "pyproject",
}


# Lock files, taken as locked (spec/lockfiles): read from their path (a uv.lock through its project).
LOCK_KINDS = ("pylock", "uv-lock")
_PYLOCK_NAME = re.compile(r"^pylock\.([^.]+\.)?toml$")  # PEP 751: pylock.toml or pylock.<name>.toml


def _parser(kind: str) -> Callable[[str, str], EnvSpec]:
    import importlib

    return importlib.import_module("." + KINDS[kind], __name__).parse_text


# `.in` is pip-tools' name for an unpinned requirements file; same format.
_BY_EXTENSION = {
    ".txt": "requirements",
    ".in": "requirements",
    ".yml": "environment-yml",
    ".yaml": "environment-yml",
    ".toml": "pyproject",
}


def kind_of(path: str, kind: Optional[str] = None) -> str:
    """The format of `path`: `kind` if given (checked), else guessed from the extension."""
    if kind is not None:
        if kind not in KINDS and kind not in LOCK_KINDS:
            raise SpecError(
                "Unknown environment file kind '%s' for '%s': use one of %s."
                % (kind, path, ", ".join(tuple(KINDS) + LOCK_KINDS))
            )
        return kind
    name = os.path.basename(path)
    if name == "uv.lock":
        return "uv-lock"
    if _PYLOCK_NAME.match(name):
        return "pylock"
    ext = os.path.splitext(path)[1].lower()
    if ext not in _BY_EXTENSION:
        raise SpecError(
            "Cannot tell the format of '%s' from its name: name it *.txt (requirements), "
            "*.yml/*.yaml (environment.yml), *.toml (pyproject.toml), uv.lock or pylock.toml, or give "
            "the kind explicitly (%s)." % (path, ", ".join(tuple(KINDS) + LOCK_KINDS))
        )
    return _BY_EXTENSION[ext]


def parse_text(text: str, source: str, kind: str) -> EnvSpec:
    """Parse `text` in the format `kind`; `source` names it in error messages."""
    return _parser(kind_of(source, kind))(text, source)


def parse_file(path: str, kind: Optional[str] = None, extras: Sequence[str] = (),
               groups: Sequence[str] = ()) -> EnvSpec:
    """Read and parse an environment file: requirements.txt, environment.yml or
    pyproject.toml, chosen by `kind` ("requirements" | "environment-yml" | "pyproject") or by
    the file's extension; or a lock file ("uv-lock" | "pylock", or the names `uv.lock`,
    `pylock.toml`), whose `extras` and `groups` are selected. Every mistake raises SpecError
    naming the file."""
    chosen = kind_of(path, kind)
    if chosen in LOCK_KINDS:
        from .lockfiles import spec_from_lock_file

        return spec_from_lock_file(path, chosen, extras, groups)
    if extras or groups:
        raise SpecError("Extras and groups select what a lock file (uv.lock, pylock.toml) installs; %s is "
                        "not one: list what you need in the file itself." % path)
    from .requirements_txt import read_spec_text

    return _parser(chosen)(read_spec_text(path), path)
