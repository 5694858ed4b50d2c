"""`metaflow environment diff A B`: packages added, removed and changed between two
environments (a package is identified by its kind and name)."""
from typing import Any, Dict, Tuple

from ..lock import LockedPackage, ResolvedEnvironment


def _key(pkg: LockedPackage) -> Tuple[str, str]:
    return (pkg.kind, pkg.name)


def _brief(pkg: LockedPackage) -> Dict[str, Any]:
    return {"kind": pkg.kind, "name": pkg.name, "version": pkg.version, "build": pkg.build,
            "filename": pkg.filename, "sha256": pkg.sha256}


def _python(env: ResolvedEnvironment) -> str:
    return "%s (%s)" % (env.python_version, env.python_source)


def diff(a: ResolvedEnvironment, b: ResolvedEnvironment) -> Dict[str, Any]:
    old = {_key(p): p for p in a.packages}
    new = {_key(p): p for p in b.packages}
    changed = []
    unchanged = 0
    for key in sorted(old.keys() & new.keys()):
        before, after = old[key], new[key]
        if before.identity() == after.identity():
            unchanged += 1
        else:
            changed.append({"kind": key[0], "name": key[1],
                            "from": {"version": before.version, "build": before.build, "sha256": before.sha256},
                            "to": {"version": after.version, "build": after.build, "sha256": after.sha256}})
    return {
        "a": {"req_id": a.req_id, "full_id": a.full_id, "arch": a.arch},
        "b": {"req_id": b.req_id, "full_id": b.full_id, "arch": b.arch},
        # Not always a package: a Python from the machine (METAFLOW_CONDA_PYTHON_SOURCE=system).
        "python": {"from": _python(a), "to": _python(b)},
        "added": [_brief(new[k]) for k in sorted(new.keys() - old.keys())],
        "removed": [_brief(old[k]) for k in sorted(old.keys() - new.keys())],
        "changed": changed,
        "unchanged": unchanged,
    }


def render(result: Dict[str, Any], label_a: str, label_b: str) -> str:
    def ident(side: Dict[str, str]) -> str:
        return "%s:%s (%s)" % (side["req_id"], side["full_id"], side["arch"])

    lines = ["--- %s  %s" % (label_a, ident(result["a"])), "+++ %s  %s" % (label_b, ident(result["b"]))]
    python = result["python"]
    if python["from"] != python["to"]:
        lines.append("~ Python %s -> %s" % (python["from"], python["to"]))
    for pkg in result["removed"]:
        lines.append("- %-5s %s %s" % (pkg["kind"], pkg["name"], pkg["version"]))
    for pkg in result["added"]:
        lines.append("+ %-5s %s %s" % (pkg["kind"], pkg["name"], pkg["version"]))
    for pkg in result["changed"]:
        before, after = pkg["from"], pkg["to"]
        if before["version"] != after["version"]:
            what = "%s -> %s" % (before["version"], after["version"])
        elif before["build"] != after["build"]:
            what = "%s (build %s -> %s)" % (after["version"], before["build"], after["build"])
        else:
            what = "%s (same version, different file)" % after["version"]
        lines.append("~ %-5s %s %s" % (pkg["kind"], pkg["name"], what))
    lines.append("%d added, %d removed, %d changed, %d unchanged" % (
        len(result["added"]), len(result["removed"]), len(result["changed"]), result["unchanged"]))
    return "\n".join(lines)

