"""`metaflow environment resolve --uv-lock / --pylock / -p` (with a uv.lock beside it): the PyPI
part is the lock's, not re-resolved, through the real entry point."""
import json
import subprocess
import sys

import pytest

from tests.fixtures.lock_projects import (  # noqa: F401 (lock_index: a fixture)
    ALPHA_1, ALPHA_2, GAMMA, PACKAGED_PYPROJECT, export_pylock, lock_index, lock_project, sha256_of, wheel_entry,
    write_pylock,
)
from tests.fixtures.pypi_index import publish


def _pypi(doc):
    return {p["name"]: (p["version"], p["sha256"]) for p in doc["packages"] if p["kind"] == "pypi"}


def test_resolve_uv_lock_keeps_the_locked_versions_and_asks_no_index_page(cli, lock_index):
    lock_project(cli.root / "project", lock_index.url + "/simple")
    publish(lock_index.root, [ALPHA_1, ALPHA_2])  # newer than what was locked
    mark = lock_index.mark()
    proc = cli.run("resolve", "--uv-lock", "project/uv.lock", "--arch", "linux-64", "--json")
    (doc,) = json.loads(proc.stdout)
    assert _pypi(doc)["lk-alpha"] == ("1.0.0", sha256_of(lock_index, ALPHA_1))
    assert _pypi(doc)["lk-gamma"] == ("1.0.0", sha256_of(lock_index, GAMMA))
    assert "PyPI packages as locked in project/uv.lock, not re-resolved." in proc.stderr
    assert [r.path for r in lock_index.requests_since(mark) if not r.path.startswith("/files/")] == []


def test_a_pyproject_with_a_uv_lock_beside_it_uses_the_lock(cli, lock_index):
    lock_project(cli.root / "project", lock_index.url + "/simple")
    proc = cli.run("resolve", "-p", "project/pyproject.toml", "--arch", "linux-64", "--dry-run")
    assert "not re-resolved (--no-uv-lock resolves the pyproject.toml instead)." in proc.stderr
    assert "lk-gamma" in proc.stdout


def test_resolve_pylock(cli, lock_index):
    write_pylock(cli.root, lock_index, wheel_entry(lock_index, GAMMA))
    (doc,) = cli.json("resolve", "--pylock", "pylock.toml", "--arch", "linux-64", "--json", "-q",
                      "--skip-metaflow-deps")
    assert _pypi(doc) == {"lk-gamma": ("1.0.0", sha256_of(lock_index, GAMMA))}  # its dependency not added


def test_resolve_pylock_of_a_packaged_project_leaves_the_project_out(cli, lock_index):
    """uv's own export of a packaged project lists the project as a local directory without
    a version: it is left out, as it is of a uv.lock, and the output says so."""
    pylock = export_pylock(lock_project(cli.root / "project", lock_index.url + "/simple", PACKAGED_PYPROJECT))
    assert 'directory = { path = ".", editable = true }' in pylock.read_text()
    proc = cli.run("resolve", "--pylock", "project/pylock.toml", "--arch", "linux-64", "--json",
                   "--skip-metaflow-deps")
    (doc,) = json.loads(proc.stdout)
    assert set(_pypi(doc)) == {"lk-alpha", "lk-gamma"}
    assert "Left out of project/pylock.toml: lockdemo, the project itself" in proc.stderr


def test_a_lock_file_whose_content_changed_at_the_source_is_refused_in_one_line(cli, lock_index):
    write_pylock(cli.root, lock_index, wheel_entry(lock_index, GAMMA))
    (lock_index.root / "files" / GAMMA.wheel_filename).write_bytes(b"tampered")
    error = cli.fails("resolve", "--pylock", "pylock.toml", "--arch", "linux-64")
    assert "Checksum mismatch for" in error and GAMMA.wheel_filename in error
    assert not list(cli.cache.rglob(GAMMA.wheel_filename))


def test_extras_need_a_lock_file(cli, lock_index):
    (cli.root / "requirements.txt").write_text("six\n")
    error = cli.fails("resolve", "-r", "requirements.txt", "--extra", "x")
    assert "Extras and groups select what a lock file (uv.lock, pylock.toml) installs" in error


def test_an_unknown_extra_of_a_uv_lock_is_named(cli, lock_index):
    lock_project(cli.root / "project", lock_index.url + "/simple")
    error = cli.fails("resolve", "--uv-lock", "project/uv.lock", "--extra", "nosuch")
    assert "nosuch" in error


FLOW = '''from metaflow import FlowSpec, step, %(deco)s


@%(deco)s(%(attrs)s)
class LockFlow(FlowSpec):
    @step
    def start(self):
        import importlib.metadata as md
        found = {}
        for name in ("lk-alpha", "lk-gamma", "tinyutil"):
            try:
                found[name] = md.version(name)
            except md.PackageNotFoundError:
                found[name] = None
        print("FOUND %%s" %% sorted(found.items()))
        self.next(self.end)

    @step
    def end(self):
        pass


if __name__ == "__main__":
    LockFlow()
'''


@pytest.mark.network  # Metaflow's own `requests` is resolved from pypi.org on top of the lock
@pytest.mark.parametrize("deco, attrs, tinyutil", [
    ("pypi_base", 'lockfile="project/uv.lock"', None),
    ("conda_base", 'libraries={"tinyutil": "1.1.0"}, lockfile="project/uv.lock"', "1.1.0"),
])
def test_a_flow_runs_with_the_locked_versions(cli, lock_index, deco, attrs, tinyutil):
    lock_project(cli.root / "project", lock_index.url + "/simple")
    publish(lock_index.root, [ALPHA_1, ALPHA_2])  # newer than what was locked
    (cli.root / "lock_flow.py").write_text(FLOW % {"deco": deco, "attrs": attrs})
    proc = subprocess.run([sys.executable, "lock_flow.py", "--no-pylint", "--environment=conda", "run"],
                          cwd=str(cli.root), env=cli.env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    assert "FOUND [('lk-alpha', '1.0.0'), ('lk-gamma', '1.0.0'), ('tinyutil', %r)]" % tinyutil in proc.stdout
