"""Names in one home (ids.py): environment ids, aliases and pathspecs, `@{VAR}` in names.

Pure: the bare remote node's bootstrap parses an id before anything but the standard library
is importable, so the module must load without `packaging` and without the store."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

from metaflow_extensions.envs.plugins.envs.errors import SpecError
from metaflow_extensions.envs.plugins.envs.ids import (
    Alias,
    EnvID,
    parse_alias,
    pathspec_alias,
    substitute_vars,
    variables_in,
)

REPO = Path(__file__).resolve().parents[2]
REQ, FULL = "a" * 40, "b" * 40


def test_ids_module_needs_only_the_standard_library():
    # In a fresh interpreter where `packaging` cannot be imported (as on a bare node).
    code = (
        "import sys; sys.modules['packaging'] = None\n"
        "from metaflow_extensions.envs.plugins.envs import ids\n"
        "print(ids.EnvID.parse('%s:%s:linux-64').arch)\n"
        "print(sorted(m for m in sys.modules if m.startswith('metaflow_extensions')))\n" % (REQ, FULL)
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=str(REPO), capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    arch, loaded = out.stdout.splitlines()
    assert arch == "linux-64"
    assert "store" not in loaded and "spec" not in loaded, loaded


def test_env_id_text_round_trip():
    env_id = EnvID(REQ, FULL, "osx-arm64")
    assert str(env_id) == "%s:%s:osx-arm64" % (REQ, FULL)
    assert EnvID.parse(str(env_id)) == env_id
    with pytest.raises(SpecError, match="expected req_id:full_id:arch"):
        EnvID.parse("not-an-id")


def test_pathspec_alias_is_the_parsed_pathspec():
    alias = pathspec_alias("MyFlow", "argo-test-1", "train")
    assert alias == parse_alias("MyFlow/argo-test-1/train/7") == Alias("pathspec", "MyFlow/argo-test-1/train")
    assert alias.key == "aliases/pathspec/MyFlow/argo-test-1/train" and not alias.is_mutable
    with pytest.raises(SpecError, match="Invalid pathspec"):
        pathspec_alias("MyFlow", "..", "train")


def test_bootstrap_rejects_a_malformed_env_id_in_one_line(tmp_path):
    """Before any tool is fetched: one line naming the mistake, no traceback."""
    env = dict(os.environ, METAFLOW_ENVS_TOOLS_DIR=str(tmp_path / "tools"), PYTHONPATH=str(REPO))
    env.pop("METAFLOW_DEBUG_CONDA", None)
    out = subprocess.run(
        [sys.executable, "-m", "metaflow_extensions.envs.plugins.envs.integration.bootstrap",
         "--datastore", "local", "--prefix-dir", str(tmp_path / "envs"), "--step", "start", "--env-id", "abc"],
        cwd=str(tmp_path), env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode != 0
    assert "Traceback" not in out.stderr, out.stderr
    assert "Invalid environment id 'abc': expected req_id:full_id:arch" in out.stderr
    assert list(tmp_path.iterdir()) == []  # nothing fetched, nothing created




def test_substitute_vars():
    env = {"USER": "ann", "METAFLOW_RUN_ID": "42", "METAFLOW_INIT_ALPHA": "0.5"}
    assert substitute_vars("team/@{USER}:r@{METAFLOW_RUN_ID}", env) == "team/ann:r42"
    assert substitute_vars("@{USER}-@{USER}", env) == "ann-ann"
    assert substitute_vars("plain/name", {}) == "plain/name"
    assert substitute_vars("MyFlow/@{METAFLOW_RUN_ID}/start", env) == "MyFlow/42/start"


def test_substitute_vars_unknown_variable():
    env = {"PATH": "/bin", "METAFLOW_RUN_ID": "42", "METAFLOW_INIT_ALPHA": "1"}
    with pytest.raises(SpecError) as err:
        substitute_vars("team/@{NOPE}:@{METAFLOW_TASK_ID}", env)
    msg = err.value.message
    assert "Unknown variable 'NOPE', 'METAFLOW_TASK_ID' in 'team/@{NOPE}:@{METAFLOW_TASK_ID}'" in msg
    for name in ("environment variable", "METAFLOW_RUN_ID", "METAFLOW_STEP_NAME", "METAFLOW_TASK_ID",
                 "METAFLOW_INIT_<PARAM>"):
        assert name in msg
    assert "available now: METAFLOW_INIT_ALPHA, METAFLOW_RUN_ID" in msg
    assert "/bin" not in msg  # values are never shown


@pytest.mark.parametrize("text", ["@{}", "@{1A}", "@{A-B}", "@{A", "x@{"])
def test_substitute_vars_malformed(text):
    with pytest.raises(SpecError, match="@\\{NAME\\}"):
        substitute_vars(text, {"A": "1"})


def test_variables_in():
    assert variables_in("a/@{X}:@{Y_1}/@{X}") == ["X", "Y_1", "X"]
    assert variables_in("none") == []


