"""What the e2e flows record about the Python a step runs in (a helper, not a flow).

Flows in this directory import it: the flow's directory is on sys.path of every task, also
inside a step's environment. Stdlib only, so it works in any environment.
"""
import importlib
import os
import sys


def _installer(module):
    try:
        from importlib.metadata import distribution

        return (distribution(module).read_text("INSTALLER") or "").strip()
    except Exception:  # noqa: BLE001 — not every module has metadata
        return None


def _run_tool(name):
    import shutil
    import subprocess

    path = shutil.which(name)
    if path is None:
        return None
    out = subprocess.run([path], capture_output=True, text=True, timeout=60)
    return {"path": path, "output": out.stdout.strip()}


def probe(*modules, tools=()):
    """A JSON-friendly description of this task's interpreter, of `modules` in it and of
    what running each of `tools` (found on PATH) prints."""
    found = {}
    for name in modules:
        try:
            mod = importlib.import_module(name)
        except ImportError:
            found[name] = None
        else:
            found[name] = {"version": getattr(mod, "__version__", None), "file": mod.__file__,
                           "installer": _installer(name)}
    try:
        import pytest  # noqa: F401  (only the outer venv has it)

        pytest_importable = True
    except ImportError:
        pytest_importable = False
    import metaflow

    return {
        "executable": sys.executable,
        "prefix": sys.prefix,
        "no_user_site": sys.flags.no_user_site,
        "sys_path": list(sys.path),
        "pytest_importable": pytest_importable,
        "metaflow_file": metaflow.__file__,
        "path_env": os.environ.get("PATH", ""),
        "library_path": os.environ.get("LD_LIBRARY_PATH"),
        "orig_library_path": os.environ.get("MF_ORIG_LD_LIBRARY_PATH"),
        "libpython": _mapped("/libpython"),
        "modules": found,
        "tools": {name: _run_tool(name) for name in tools},
    }


def _mapped(part):
    """The files of this process's memory map whose path holds `part` (Linux; else none)."""
    try:
        with open("/proc/self/maps") as maps:
            return sorted({word for line in maps for word in line.split() if part in word})
    except OSError:
        return []
