"""pylock.toml (PEP 751, lock-version 1.0): the PyPI packages of the lock, each with the
exact wheel (URL, size, sha256) chosen for the environment's platform."""
import json
from typing import List

from ...auth import strip_credentials
from ...lock import LockedPackage, ResolvedEnvironment
from ...resolve.platforms import platform_info
from . import Export, nothing_to_export
from .pypi_common import split_pypi


def _s(text: str) -> str:
    """A TOML basic string (JSON's escapes are valid TOML)."""
    return json.dumps(text, ensure_ascii=False)


def marker(arch: str) -> str:
    info = platform_info(arch)
    system = "linux" if info.is_linux else "darwin"
    return "sys_platform == '%s' and platform_machine == '%s'" % (system, info.machine)


def render(env: ResolvedEnvironment, name: str = "") -> Export:
    wheels, omitted = split_pypi(env)
    if not wheels:
        raise nothing_to_export(env, "pylock", "PyPI packages", "explicit or environment-yml")
    lines: List[str] = [
        "# Environment %s (%s:%s), exported by metaflow-envs." % (name or env.full_id, env.req_id, env.full_id),
        'lock-version = "1.0"',
        "environments = [%s]" % _s(marker(env.arch)),
        "requires-python = %s" % _s("==" + env.python_version),
        'created-by = "metaflow-envs"',
        "",
    ]
    index = env.spec.pypi_sources.index_url
    for pkg in wheels:
        lines += _package(pkg, index)
    lines += [
        "[tool.metaflow-envs]",
        "req-id = %s" % _s(env.req_id),
        "full-id = %s" % _s(env.full_id),
        "arch = %s" % _s(env.arch),
        "not-locked-here = [%s]" % ", ".join(_s(o) for o in omitted),
        "",
    ]
    return Export("\n".join(lines), omitted)


def _package(pkg: LockedPackage, index: str) -> List[str]:
    out = ["[[packages]]", "name = %s" % _s(pkg.name), "version = %s" % _s(pkg.version)]
    if index:
        out.append("index = %s" % _s(strip_credentials(index)))
    out += ["", "[[packages.wheels]]", "name = %s" % _s(pkg.filename), "url = %s" % _s(strip_credentials(pkg.url))]
    if pkg.size is not None:
        out.append("size = %d" % pkg.size)
    out += ["hashes = {sha256 = %s}" % _s(pkg.sha256), ""]
    return out
