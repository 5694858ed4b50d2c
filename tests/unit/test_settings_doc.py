"""The settings table (settings_table.py) is the one source: docs/settings.md is generated from
it, config/mfextinit_envs.py registers exactly its forwarded settings with Metaflow (which sends
them to remote nodes), and reading a setting imports no Metaflow."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from metaflow_extensions.envs.plugins.envs import settings_table
from metaflow_extensions.envs.plugins.envs.ids import CONDA_PLATFORMS
from metaflow_extensions.envs.plugins.envs.settings_table import SETTINGS

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "settings.md"


def _python(code: str, env: dict, cwd: Path):
    """What `code` prints last (JSON), run in a fresh interpreter."""
    out = subprocess.run([sys.executable, "-c", code], env=env, cwd=str(cwd), capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_the_page_is_generated_from_the_table():
    assert DOC.read_text() == settings_table.markdown(), (
        "docs/settings.md is stale: python -m metaflow_extensions.envs.plugins.envs.settings_table > docs/settings.md")


@pytest.mark.parametrize("setting", SETTINGS, ids=lambda s: s.name)
def test_default_and_example_are_allowed_and_differ(setting):
    if setting.default is not None:
        setting.parser(setting.default)
    assert setting.parser(setting.example) != (None if setting.default is None else setting.parser(setting.default))
    assert setting.name.startswith(("CONDA_", "DEBUG_CONDA")) and setting.section in settings_table.SECTIONS


def test_remote_platforms_are_the_platforms_we_resolve_for():
    assert settings_table.PLATFORMS == CONDA_PLATFORMS


def test_exactly_the_forwarded_settings_reach_remote_nodes(tmp_path):
    """What Kubernetes, Batch and Argo send to a node: Metaflow's configured values of
    METAFLOW_CONDA_* / METAFLOW_DEBUG_* (metaflow_config_funcs.config_values). Each setting set
    to its example, in a process of its own."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("METAFLOW_")}
    env.update({s.variable: s.example for s in SETTINGS}, METAFLOW_HOME=str(tmp_path))
    code = ("import json\nfrom metaflow import metaflow_config\nfrom metaflow.metaflow_config_funcs import "
            "config_values\nprint(json.dumps(sorted(k for k, _ in config_values() "
            "if k.startswith(('METAFLOW_CONDA_', 'METAFLOW_DEBUG_')))))")
    sent = set(_python(code, env, tmp_path))
    assert sent == {s.variable for s in SETTINGS if s.forwarded}
    assert "METAFLOW_CONDA_CACHE_DIR" not in sent  # a path of this machine


def test_reading_a_setting_imports_no_metaflow_and_reads_the_profile(tmp_path):
    """A light entry point (the node bootstrap, a fast command) reads settings and a profile
    with the standard library alone."""
    (tmp_path / "config_team.json").write_text(json.dumps({"METAFLOW_CONDA_LOCK_TIMEOUT": 90,
                                                            "METAFLOW_CONDA_PACKAGES_DIRNAME": "pkgs"}))
    env = {k: v for k, v in os.environ.items() if not k.startswith("METAFLOW_")}
    env.update(METAFLOW_HOME=str(tmp_path), METAFLOW_PROFILE="team", METAFLOW_CONDA_PACKAGES_DIRNAME="from-env")
    code = ("import sys, json\nfrom metaflow_extensions.envs.plugins.envs import settings\n"
            "print(json.dumps([settings.value('CONDA_LOCK_TIMEOUT'), settings.value('CONDA_PACKAGES_DIRNAME'), "
            "settings.value('CONDA_RESOLVE_TIMEOUT'), sorted(m for m in sys.modules if m.split('.')[0] == 'metaflow')]))")
    assert _python(code, env, tmp_path) == [90.0, "from-env", 600.0, []]
