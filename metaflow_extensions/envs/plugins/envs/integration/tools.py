"""What a bare remote node needs to hydrate environments — py-rattler, uv and our few pure
Python dependencies — stored once per platform in the datastore, so nodes need no access to
PyPI or Conda channels. The manifest `tools/<arch>/manifest.json` lists the wheels, which
live content-addressed with the other packages.
"""
import json
from importlib.metadata import version
from typing import Any, List

from ..lock import LockedPackage
from ..spec.model import EnvSpec, PypiDep

# The oldest Python we support: abi3 / py3 wheels chosen for it work on every newer one.
NODE_PYTHON = "3.9"
TOOL_DISTRIBUTIONS = ("py-rattler", "uv", "filelock", "packaging")
# Needed on nodes whose Python predates tomllib (3.11).
EXTRA_REQUIREMENTS = ("tomli>=2",)


def manifest_key(arch: str) -> str:
    return "tools/%s/manifest.json" % arch


def tool_requirements() -> List[str]:
    """The tools at the versions running here, so node and launcher agree."""
    return ["%s==%s" % (name, version(name)) for name in TOOL_DISTRIBUTIONS] + list(EXTRA_REQUIREMENTS)


def publish_tools(manager: Any, arch: str) -> None:
    """Make sure `tools/<arch>/` holds the node tools at our versions (no-op when it does)."""
    from ..resolve import pypi
    from ..resolve.platforms import platform_info

    store = manager.store
    wanted = tool_requirements()
    current = store.read_text(manifest_key(arch))
    if current and json.loads(current).get("requirements") == wanted:
        return
    spec = EnvSpec(pypi_deps=tuple(PypiDep.parse(r) for r in wanted), platform=arch)
    wheels = pypi.resolve(spec, NODE_PYTHON, platform_info(arch), manager.credentials())
    present = store.present_packages(wheels)
    missing = [w for w in wheels if store.package_key(w) not in present]
    from ..hydrate.fetch import fetch_packages

    fetch_packages([w for w in missing if not manager.cache.has(w)], manager.cache, manager.credentials())
    store.upload_packages(missing, manager.cache)
    store.write_text(manifest_key(arch), json.dumps(
        {"requirements": wanted, "wheels": [w.to_dict() for w in wheels]}, indent=1, sort_keys=True))


def manifest_wheels(text: str) -> List[LockedPackage]:
    return [LockedPackage.from_dict(w) for w in json.loads(text)["wheels"]]
