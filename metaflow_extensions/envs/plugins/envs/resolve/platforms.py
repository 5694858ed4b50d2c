"""Target platforms: Conda subdir ↔ virtual packages, uv's --python-platform, wheel tags.

Resolving for a platform other than the host (a Mac user resolving for linux-64) must never
look at the host: virtual packages and wheel tags are derived from the target alone. Their
versions come from METAFLOW_CONDA_GLIBC_VERSION / METAFLOW_CONDA_OSX_VERSION (unset: the macOS uv
assumes for the target), then from what the request declares (EnvSpec.sys_packages, over
METAFLOW_CONDA_SYS_DEFAULT_PACKAGES): a declared `__glibc` also bounds the manylinux wheels, a
declared `__osx` the macOS ones.
"""
import platform as _host_platform
import sys
from dataclasses import dataclass
from typing import Any, Dict, FrozenSet, List, Mapping, Optional, Sequence, Tuple

from packaging import tags

from .. import settings
from ..errors import SpecError
from ..spec.locked import LockedFile
from ..spec.model import CONDA_PLATFORMS, SysPackages, check_sys_package, merge_sys_packages

_UV_MANYLINUX_MINORS = (17, 28) + tuple(range(31, 41))
# The macOS uv assumes for `--python-platform {aarch64,x86_64}-apple-darwin` without
# MACOSX_DEPLOYMENT_TARGET (uv 0.13: 13.0 for both; tests/integration/test_platform_wheels.py
# asks the installed uv): a lock then takes the wheels `uv pip compile` takes for that platform.
UV_DEFAULT_OSX_VERSION = {"osx-arm64": "13.0", "osx-64": "13.0"}


@dataclass(frozen=True)
class PlatformInfo:
    subdir: str  # conda name, e.g. linux-64
    os: str  # linux | osx
    machine: str  # x86_64 | aarch64 | arm64
    system_version: str  # glibc version on linux, macOS version on osx
    declared: SysPackages = ()  # what the request declares the target provides

    @property
    def is_linux(self) -> bool:
        return self.os == "linux"

    def virtual_packages(self) -> Dict[str, Tuple[str, str]]:
        """Virtual packages (name -> (version, build)) the solver assumes on the target."""
        out = {"__unix": ("0", "0"), "__archspec": ("1", self.machine)}
        if self.is_linux:
            out["__linux"] = ("5.10", "0")
            out["__glibc"] = (self.system_version, "0")
        else:
            out["__osx"] = (self.system_version, "0")
        for name, value in self.declared:
            version, _, build = value.partition("=")
            # without a build, keep the platform's own (`__archspec`'s names the machine)
            out[name] = (version, build or out.get(name, ("", "0"))[1])
        return out

    def uv_python_platform(self) -> str:
        """uv's --python-platform for this target."""
        if self.is_linux:
            minor = int(self.system_version.split(".")[1])
            # uv knows manylinux_2_17, 2_28 and 2_31..2_40: take the newest not above glibc.
            known = [m for m in _UV_MANYLINUX_MINORS if m <= minor] or [17]
            return "%s-manylinux_2_%d" % (self.machine, max(known))
        arch = "aarch64" if self.machine == "arm64" else "x86_64"
        return "%s-apple-darwin" % arch

    def uv_environment(self) -> Dict[str, str]:
        """Extra environment uv needs to target this platform precisely."""
        if self.is_linux:
            return {}
        return {"MACOSX_DEPLOYMENT_TARGET": self.system_version}

    def wheel_platform_tags(self) -> List[str]:
        """Platform tags accepted on the target, most specific first."""
        if self.is_linux:
            major, minor = (int(x) for x in self.system_version.split(".")[:2])
            out = ["manylinux_%d_%d_%s" % (major, m, self.machine) for m in range(minor, 4, -1)]
            legacy = {17: "manylinux2014", 12: "manylinux2010", 5: "manylinux1"}
            for m, name in legacy.items():
                if m <= minor and (self.machine == "x86_64" or m == 17):
                    out.insert(out.index("manylinux_2_%d_%s" % (m, self.machine)) + 1,
                               "%s_%s" % (name, self.machine))
            return out
        major, minor = (int(x) for x in self.system_version.split(".")[:2])
        return list(tags.mac_platforms((major, minor), self.machine))

    def wheel_tags(self, python_version: str) -> List[tags.Tag]:
        """Every wheel tag the target interpreter accepts, in priority order."""
        py = tuple(int(x) for x in python_version.split(".")[:2])
        plats = self.wheel_platform_tags()
        return list(tags.cpython_tags(py, platforms=plats)) + list(
            tags.compatible_tags(py, platforms=plats)
        )


def platform_info(subdir: str, declared: SysPackages = ()) -> PlatformInfo:
    """The target `subdir`, with the virtual packages a request declares for it (see
    `sys_packages_for`)."""
    if subdir not in CONDA_PLATFORMS:
        raise SpecError("Unknown platform '%s': use one of %s." % (subdir, ", ".join(CONDA_PLATFORMS)))
    os_name, arch = subdir.split("-", 1)
    machine = {"64": "x86_64", "aarch64": "aarch64", "arm64": "arm64"}[arch]
    if os_name == "linux":
        version = settings.value("CONDA_GLIBC_VERSION")
    else:
        version = osx_version(subdir)
    system = dict(declared).get("__glibc" if os_name == "linux" else "__osx")
    if system:
        version = system.partition("=")[0]
    return PlatformInfo(subdir, os_name, machine, version, declared)


def osx_version(subdir: str) -> str:
    """The macOS the osx target `subdir` is resolved for, unless the request declares `__osx`:
    METAFLOW_CONDA_OSX_VERSION (checked by the settings table), or (unset or empty) the one uv
    assumes for it."""
    return settings.value("CONDA_OSX_VERSION") or UV_DEFAULT_OSX_VERSION[subdir]


# Virtual packages only one OS has; the others may be declared for any target.
_OS_OF = {"__glibc": "linux", "__linux": "linux", "__osx": "osx"}


def sys_packages_for(subdir: str, declared: SysPackages) -> SysPackages:
    """What the target `subdir` is declared to provide: METAFLOW_CONDA_SYS_DEFAULT_PACKAGES
    (its entries for every platform, then those for `subdir`), then `declared`, each winning
    for a name; less what `subdir`'s OS does not have (`__glibc` on osx...), so that one
    request resolves for several platforms. An osx target always has its `__osx` (at least
    `osx_version`): the lock records the macOS it was resolved for, and a request resolved
    for another one is another request."""
    setting = "CONDA_SYS_DEFAULT_PACKAGES"
    data = settings.value(setting) or {}  # its shape checked: names and platforms
    everywhere = {k: v for k, v in data.items() if k.startswith("__")}
    for_subdir = data.get(subdir, {})
    os_name = subdir.split("-", 1)[0]
    target = (("__osx", osx_version(subdir)),) if os_name == "osx" else ()
    merged = merge_sys_packages(target, _checked(setting, everywhere), _checked(setting, for_subdir), declared)
    return tuple(item for item in merged if _OS_OF.get(item[0], os_name) == os_name)


def gpu_sys_packages() -> SysPackages:
    """What a step asking for a GPU is resolved with (METAFLOW_CONDA_SYS_DEFAULT_GPU_PACKAGES,
    by default a CUDA 12 driver)."""
    data = settings.value("CONDA_SYS_DEFAULT_GPU_PACKAGES")  # checked JSON object
    return merge_sys_packages(_checked("CONDA_SYS_DEFAULT_GPU_PACKAGES", data))


def _checked(setting: str, items: Mapping[str, Any]) -> SysPackages:
    try:
        return tuple(check_sys_package(k, v) for k, v in items.items())
    except SpecError as err:
        raise SpecError("METAFLOW_%s: %s" % (setting, err.message)) from None


def host_platform() -> str:
    """The Conda subdir of the machine we run on."""
    machine = _host_platform.machine().lower()
    if sys.platform.startswith("linux"):
        return "linux-aarch64" if machine in ("aarch64", "arm64") else "linux-64"
    if sys.platform == "darwin":
        return "osx-arm64" if machine == "arm64" else "osx-64"
    raise SpecError("Unsupported host platform %s/%s." % (sys.platform, machine))


def wheel_filename_tags(filename: str) -> Tuple[str, str, frozenset]:
    from packaging.utils import parse_wheel_filename

    name, version, _build, wtags = parse_wheel_filename(filename)
    return str(name), str(version), frozenset(wtags)


def tag_rank(filename: str, rank: Dict[tags.Tag, int]) -> Optional[int]:
    """How much the target prefers the wheel `filename` (lower is better), by `rank` (each tag's
    place in the target's `wheel_tags`); None: the target cannot install it, or it is no wheel."""
    try:
        wheel_tags = wheel_filename_tags(filename)[2]
    except ValueError:  # packaging's InvalidWheelFilename
        return None
    return min((rank[t] for t in wheel_tags if t in rank), default=None)


def best_wheel(wheels: Sequence[LockedFile], target_tags: Sequence[tags.Tag],
               allowed: Optional[FrozenSet[str]] = None) -> Optional[LockedFile]:
    """The wheel the target's installer would pick: its most preferred compatible tag (ties:
    the first file name, whatever order the lock lists them in), among the `allowed` sha256
    (pip's hash-checking mode) when given; None when the target can install none."""
    rank = {tag: i for i, tag in enumerate(target_tags)}
    scored = [(tag_rank(w.filename, rank), w.filename, i) for i, w in enumerate(wheels)
              if allowed is None or w.sha256 in allowed]
    scored = [s for s in scored if s[0] is not None]
    return wheels[min(scored)[2]] if scored else None
