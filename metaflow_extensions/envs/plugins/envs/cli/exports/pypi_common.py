"""What the PyPI-side formats (pylock, requirements) share: which wheels are exportable."""
from typing import List, Tuple

from ...kinds import PackageKind
from ...lock import LockedPackage, ResolvedEnvironment


def split_pypi(env: ResolvedEnvironment) -> Tuple[List[LockedPackage], List[str]]:
    """(exportable wheels, omitted descriptions). Conda packages and wheels built locally
    from sources (they exist only in our cache and datastore) cannot be exported."""
    wheels, omitted = [], []
    for pkg in sorted(env.packages, key=lambda p: (p.kind, p.name)):
        if pkg.kind != PackageKind.PYPI:
            omitted.append("conda %s==%s (a Conda package)" % (pkg.name, pkg.version))
        elif pkg.built_from:
            omitted.append("pypi %s==%s (built from %s)" % (pkg.name, pkg.version, pkg.built_from))
        else:
            wheels.append(pkg)
    return wheels, omitted
