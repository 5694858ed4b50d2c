"""Where `--environment=uv` finds its uv project, and the Python it pins (.python-version)."""
import metaflow  # noqa: F401  (first: Metaflow loads our plugins, this module among them)
import pytest

from metaflow_extensions.envs.plugins.envs.errors import SpecError
from metaflow_extensions.envs.plugins.envs.integration.uv_environment import find_uv_project, pinned_python


def _project(path):
    path.mkdir(parents=True, exist_ok=True)
    (path / "pyproject.toml").write_text("[project]\nname = 'p'\n")
    (path / "uv.lock").write_text("version = 1\n")
    return path


def test_the_nearest_locked_project_above_the_flow_wins(tmp_path):
    outer = _project(tmp_path / "outer")
    inner = _project(outer / "inner")
    (inner / "flows" / "deep").mkdir(parents=True)
    assert find_uv_project(str(inner / "flows" / "deep")) == str(inner)
    (outer / "other").mkdir()
    assert find_uv_project(str(outer / "other")) == str(outer)


def test_a_lock_without_its_pyproject_is_refused(tmp_path):
    (tmp_path / "uv.lock").write_text("version = 1\n")
    with pytest.raises(SpecError, match="has no pyproject.toml beside it"):
        find_uv_project(str(tmp_path))


def test_no_lock_anywhere_above_names_the_start(tmp_path):
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'p'\n")  # unlocked: not a uv project yet
    with pytest.raises(SpecError, match="No uv.lock in %s or any directory above it.*uv lock" % tmp_path):
        find_uv_project(str(tmp_path))


@pytest.mark.parametrize("text, spec", [("3.11\n", "3.11.*"), ("# pinned\n3.10.4\n", "3.10.4")])
def test_python_version_pins_the_python(tmp_path, text, spec):
    (tmp_path / ".python-version").write_text(text)
    assert pinned_python(str(tmp_path)) == spec


def test_no_python_version_leaves_python_open(tmp_path):
    assert pinned_python(str(tmp_path)) is None


def test_a_python_version_we_cannot_honour_is_refused(tmp_path):
    (tmp_path / ".python-version").write_text("pypy@3.10\n")
    with pytest.raises(SpecError, match="takes a CPython version there"):
        pinned_python(str(tmp_path))
