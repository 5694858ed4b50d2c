"""docs/settings.md lists every setting of config/mfextinit_envs.py, with the same default."""
import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / "metaflow_extensions" / "envs" / "config" / "mfextinit_envs.py"
DOC = ROOT / "docs" / "settings.md"
# Read from the process environment, not through Metaflow's configuration (see the config file).
ENVIRONMENT_ONLY = {"METAFLOW_CONDA_CACHE_DIR"}


def _defined() -> dict:
    """METAFLOW_<name> -> how the page writes its default (`value`, none or empty)."""
    out = {}
    for node in ast.walk(ast.parse(CONFIG.read_text())):
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "from_conf":
            name = "METAFLOW_" + node.args[0].value
            default = node.args[1].value if len(node.args) > 1 else None
            out[name] = "none" if default is None else "empty" if default == "" else "`%s`" % default
    return out


def _documented() -> dict:
    rows = re.findall(r"^\| `(METAFLOW_[A-Z0-9_]+)` \| ([^|]+?) \|", DOC.read_text(), re.M)
    return dict(rows)


def test_every_setting_is_documented_with_its_default():
    defined, documented = _defined(), _documented()
    assert len(defined) > 20  # the parse found the settings
    assert {name: documented.get(name) for name in defined} == defined


def test_the_page_lists_no_setting_that_does_not_exist():
    assert set(_documented()) - set(_defined()) == ENVIRONMENT_ONLY
