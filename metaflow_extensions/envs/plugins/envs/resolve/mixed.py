"""Mixed environments: which PyPI distributions the Conda part already provides.

A Conda package is a Python distribution when it is `noarch: python` or depends on `python`;
its PyPI name is its Conda name, except for the well-known renames below.
"""
from typing import Dict, Iterable

from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from ..kinds import PackageKind
from ..lock import LockedPackage

# Conda name -> PyPI name where the two differ (the common cases on conda-forge).
CONDA_TO_PYPI = {
    "pytorch": "torch",
    "pytorch-cpu": "torch",
    "py-opencv": "opencv-python",
    "pytables": "tables",
    "msgpack-python": "msgpack",
    "matplotlib-base": "matplotlib",
    "tensorflow-base": "tensorflow",
    "py-xgboost": "xgboost",
    "python-graphviz": "graphviz",
    "pyqt": "pyqt5",
}

_NOT_DISTRIBUTIONS = {"python", "python_abi", "pip"}


def _is_python_distribution(pkg: LockedPackage) -> bool:
    if pkg.conda is None or pkg.name in _NOT_DISTRIBUTIONS:
        return False
    if pkg.conda.noarch == "python":
        return True
    return any(dep.split()[0] == "python" for dep in pkg.conda.depends)


def pypi_provided_by(packages: Iterable[LockedPackage]) -> Dict[str, str]:
    """PyPI name -> version for every Python distribution among Conda packages."""
    provided: Dict[str, str] = {}
    for pkg in packages:
        if pkg.kind != PackageKind.CONDA or not _is_python_distribution(pkg):
            continue
        try:
            version = str(Version(pkg.version))
        except InvalidVersion:
            continue  # not expressible to a PyPI resolver; Conda keeps it anyway
        provided[canonicalize_name(CONDA_TO_PYPI.get(pkg.name, pkg.name))] = version
    return provided
