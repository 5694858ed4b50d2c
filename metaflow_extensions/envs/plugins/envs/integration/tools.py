"""What a bare remote node needs to hydrate environments — py-rattler, uv and our few pure
Python dependencies — stored once per platform in the datastore, so nodes need no access to
PyPI or Conda channels. The manifest `tools/<arch>/manifest.json` lists the wheels, which
live content-addressed with the other packages.
"""
import json
from importlib.metadata import metadata, version
from typing import Any, List

from ..layout import tools_manifest_key
from ..spec.model import EnvSpec, PypiDep

# The oldest Python we support: abi3 / py3 wheels chosen for the node's floor work on every
# newer one. The floor is raised to what the pinned tools themselves require (py-rattler
# needs 3.10 since 0.2x).
MIN_NODE_PYTHON = "3.9"
# Pinned to the versions running here, so node and launcher agree on lock and prefix formats.
PINNED_TOOLS = ("py-rattler", "uv")
# Pure Python helpers, at any version that runs on the node's Python floor (the launcher's
# own versions may need a newer Python than the node has: filelock 4.2 needs 3.11).
EXTRA_REQUIREMENTS = ("filelock>=3.12", "packaging>=23", "tomli>=2")


def manifest_key(arch: str) -> str:
    return tools_manifest_key(arch)


def tool_requirements() -> List[str]:
    return ["%s==%s" % (name, version(name)) for name in PINNED_TOOLS] + list(EXTRA_REQUIREMENTS)


def node_python() -> str:
    """The oldest Python a node may run the tools with: the highest `Requires-Python` lower
    bound of the pinned tools (as installed here), at least MIN_NODE_PYTHON."""
    from packaging.specifiers import SpecifierSet
    from packaging.version import Version

    floor = Version(MIN_NODE_PYTHON)
    for name in PINNED_TOOLS:
        for spec in SpecifierSet(metadata(name).get("Requires-Python") or ""):
            if spec.operator in (">=", "~=", "=="):
                floor = max(floor, Version(spec.version.rstrip(".*")))
    return "%d.%d" % (floor.major, floor.minor)


def publish_tools(manager: Any, arch: str) -> None:
    """Make sure `tools/<arch>/` holds the node tools at our versions (no-op when it does)."""
    from ..resolve import pypi
    from ..resolve.platforms import platform_info
    from ..resolve.resolver import credentials_for

    store = manager.store
    wanted = tool_requirements()
    python = node_python()
    current = store.read_text(manifest_key(arch))
    if current and json.loads(current).get("requirements") == wanted and json.loads(current).get("python") == python:
        return
    spec = EnvSpec(pypi_deps=tuple(PypiDep.parse(r) for r in wanted), platform=arch)
    credentials = credentials_for(spec)
    wheels = pypi.resolve(spec, python, platform_info(arch), credentials)
    manager.upload_missing(wheels, credentials)
    store.write_text(manifest_key(arch), json.dumps(
        {"requirements": wanted, "python": python, "wheels": [w.to_dict() for w in wheels]},
        indent=1, sort_keys=True))
