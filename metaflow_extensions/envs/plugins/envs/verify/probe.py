"""Run by the Python of a scratch prefix (`python -I probe.py RESULT_FILE`, the request as JSON
on stdin), never imported by metaflow-envs: standard library only, Python 3.8+.

For each requested package (`{"pypi": [names], "conda": [names]}`) it finds the top-level
modules the package installed in this prefix, then imports them all, each import guarded.
Results are JSON lines appended (and flushed) to RESULT_FILE as they happen, so an import
that kills the process is still named by its `start` line, and a final `done` line says
the probe got to its end (an import may end the process with status 0). The file, not
stdout, carries them: an imported module may print anything.
"""
import json
import os
import re
import sys
import traceback

try:
    from importlib import import_module, metadata
except ImportError:  # pragma: no cover - Python < 3.8 has no importlib.metadata
    metadata = None
    from importlib import import_module

_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")
_NOT_MODULES = (".dist-info", ".egg-info", ".data", ".pth", ".egg-link")


def canonical(name):
    return re.sub(r"[-_.]+", "-", name).lower()


def top_level(path):
    """The module a file installed at `path` (relative to site-packages) belongs to, or None."""
    first, _, rest = path.replace(os.sep, "/").partition("/")
    if not first or first in ("..", "__pycache__") or first.endswith(_NOT_MODULES):
        return None
    if rest:
        return first if first.isidentifier() else None
    stem = first.split(".", 1)[0]
    if first.endswith((".py", ".so", ".pyd")) and stem.isidentifier():
        return stem
    return None


def modules_of(paths):
    names = {m for m in (top_level(p) for p in paths) if m}
    public = {m for m in names if not m.startswith("_")}
    return sorted(public or names)  # private helpers (_yaml) only when nothing else is there


def pypi_package(name, dists):
    dist = dists.get(canonical(name))
    if dist is None:
        return None
    files = [str(f) for f in (dist.files or ())]
    modules = modules_of(files)
    if not modules:  # no RECORD: what the project declared
        modules = sorted(m.strip() for m in (dist.read_text("top_level.txt") or "").split() if m.strip())
    requires = [m.group(1) for m in (_NAME.match(r) for r in (dist.requires or ())) if m]
    return modules, requires


def conda_package(name, records):
    record = records.get(name)
    if record is None:
        return None
    paths = [p.split("site-packages/", 1)[1] for p in record.get("files", ()) if "site-packages/" in p]
    return modules_of(paths), [d.split()[0] for d in record.get("depends", ()) if d.split()]


def conda_records():
    out = {}
    folder = os.path.join(sys.prefix, "conda-meta")
    for entry in sorted(os.listdir(folder)) if os.path.isdir(folder) else ():
        if entry.endswith(".json"):
            with open(os.path.join(folder, entry)) as handle:
                record = json.load(handle)
            out[record.get("name", "")] = record
    return out


def describe(err):
    """The error's last line and, when it comes from a file, where it was raised."""
    text = traceback.format_exception_only(type(err), err)[-1].strip()
    frames = traceback.extract_tb(err.__traceback__)
    if frames:
        last = frames[-1]
        where = last.filename.replace(os.sep, "/").rsplit("site-packages/", 1)[-1]
        text += " (at %s, line %s%s)" % (where, last.lineno, ": " + last.line if last.line else "")
    return text


def main():
    request = json.load(sys.stdin)
    dists = {}
    for dist in (metadata.distributions() if metadata else ()):
        dists.setdefault(canonical(dist.metadata["Name"] or ""), dist)
    records = conda_records()
    found = [(name, pypi_package(name, dists)) for name in request.get("pypi", ())]
    found += [(name, conda_package(name, records)) for name in request.get("conda", ())]
    with open(sys.argv[1], "a") as out:
        def emit(**record):
            out.write(json.dumps(record) + "\n")
            out.flush()

        for name, info in found:
            modules, requires = info or ([], [])
            emit(event="package", package=name, modules=modules, requires=requires, installed=info is not None)
        for name, info in found:
            for module in (info or ([], []))[0]:
                emit(event="start", package=name, module=module)
                try:
                    import_module(module)
                except (Exception, SystemExit) as err:  # every failure is reported, none stops the others
                    emit(event="error", package=name, module=module, error=describe(err))
                else:
                    emit(event="ok", package=name, module=module)
        emit(event="done")  # last: without it, whatever has no result failed (the parent's rule)


if __name__ == "__main__":
    main()
