"""A uv project for `--environment=uv` tests: pyproject.toml + a uv.lock made by `uv lock`
against a copy of the test PyPI index served on 127.0.0.1 (and pypi.org for what Metaflow
needs in a task), locked while only mfenvs-alpha 1.0.0 was published; 2.0.0 is published
right after, as a newer release would be. A flow that ends up with 2.0.0 was re-resolved."""
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Sequence

from tests.fixtures.servers import StaticFileServer

NEWER = "mfenvs_alpha-2.0.0"


def serve_index_copy(index_root: Path, dest: Path) -> StaticFileServer:
    """A started server over a copy of the test index (its pages are edited here)."""
    shutil.copytree(index_root, dest)
    return StaticFileServer(dest).start()


def lock_project(project: Path, index_dir: Path, index_url: str, dependencies: Sequence[str],
                 more_indexes: Sequence[str] = ()) -> None:
    """Write the project and lock it with only the older mfenvs-alpha on the index (and
    `more_indexes`, `.../simple` URLs searched after it, before pypi.org)."""
    project.mkdir(parents=True, exist_ok=True)
    deps = ", ".join('"%s"' % d for d in dependencies)
    (project / "pyproject.toml").write_text(
        '[project]\nname = "uv-flow-project"\nversion = "0.1.0"\nrequires-python = ">=3.9"\n'
        "dependencies = [%s]\n\n"
        '[project.optional-dependencies]\nbeta = ["mfenvs-beta"]\n\n'
        '[dependency-groups]\ntools = ["mfenvs-beta"]\ndev = ["mfenvs-otherdep"]\n\n'
        '[[tool.uv.index]]\nname = "test"\nurl = "%s/simple"\n' % (deps, index_url)
        + "".join('\n[[tool.uv.index]]\nname = "more%d"\nurl = "%s"\n' % (i, url) for i, url in enumerate(more_indexes)))
    page = index_dir / "simple" / "mfenvs-alpha" / "index.html"
    published = page.read_text()
    page.write_text("".join(line for line in published.splitlines(True) if NEWER not in line))
    uv = shutil.which("uv", path=os.path.dirname(sys.executable)) or shutil.which("uv")
    assert uv, "uv (a dependency of metaflow-envs) not found"
    try:
        subprocess.run([uv, "lock", "--quiet"], cwd=str(project), check=True, timeout=300,
                       env=dict(os.environ, UV_PYTHON_DOWNLOADS="never", UV_CACHE_DIR=str(project.parent / "uv-cache")))
    finally:
        page.write_text(published)  # the newer release is out
    lock = (project / "uv.lock").read_text()
    assert 'name = "mfenvs-alpha"\nversion = "1.0.0"' in lock, lock


def narrow_requires_python(project: Path, requires_python: str) -> None:
    """Give the locked project another requires-python, in pyproject.toml and uv.lock alike.
    `uv lock` needs an interpreter the project allows, and CI has only the one running the
    tests: a project excluding it is locked for `>=3.9` first, as if on a machine with another
    Python (its packages are pure Python, so the lock is the same)."""
    for name, old in (("pyproject.toml", 'requires-python = ">=3.9"'), ("uv.lock", 'requires-python = ">=3.9"')):
        path = project / name
        text = path.read_text()
        assert old in text, text
        path.write_text(text.replace(old, 'requires-python = "%s"' % requires_python))


def copy_flow(flow: Path, project: Path) -> Path:
    """The flow (and the probe helper it imports) inside the project."""
    shutil.copy(flow.with_name("run_probe.py"), project / "run_probe.py")
    return Path(shutil.copy(flow, project / flow.name))
