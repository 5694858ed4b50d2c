"""`metaflow environment export --format F`: an environment in another tool's format.

Each format module offers `render(env) -> Export`. A format expresses what it can (pylock
and requirements: the PyPI packages; explicit: the Conda packages) and lists the rest in
`Export.omitted`; a format that could express none of an environment's packages is an error.
"""
import importlib
from dataclasses import dataclass, field
from typing import Dict, List

from ...errors import SpecError
from ...lock import ResolvedEnvironment

# format name -> module, and the file name it is usually given
FORMATS: Dict[str, str] = {
    "pylock": "pylock",
    "environment-yml": "environment_yml",
    "requirements": "requirements",
    "explicit": "explicit",
    "cyclonedx": "cyclonedx",
}
FILENAMES: Dict[str, str] = {
    "pylock": "pylock.toml",
    "environment-yml": "environment.yml",
    "requirements": "requirements.txt",
    "explicit": "explicit.txt",
    "cyclonedx": "sbom.cdx.json",
}


@dataclass(frozen=True)
class Export:
    text: str
    omitted: List[str] = field(default_factory=list)  # "kind name==version (why)"


def export(env: ResolvedEnvironment, fmt: str, name: str = "") -> Export:
    if fmt not in FORMATS:
        raise SpecError("Unknown export format '%s': use one of %s." % (fmt, ", ".join(FORMATS)))
    module = importlib.import_module("." + FORMATS[fmt], __name__)
    return module.render(env, name)


def nothing_to_export(env: ResolvedEnvironment, fmt: str, what: str, instead: str) -> SpecError:
    return SpecError("Environment %s:%s has no %s, so the %s format cannot describe it: use --format %s."
                     % (env.req_id, env.full_id, what, fmt, instead))
