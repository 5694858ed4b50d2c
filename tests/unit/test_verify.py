"""The pure parts of verification: which modules a package's files make, and the setting."""
import pytest

from metaflow_extensions.envs.plugins.envs import settings
from metaflow_extensions.envs.plugins.envs.errors import SpecError
from metaflow_extensions.envs.plugins.envs.verify import probe


@pytest.mark.parametrize("path, module", [
    ("pandas/__init__.py", "pandas"),
    ("six.py", "six"),
    ("_cffi_backend.cpython-311-x86_64-linux-gnu.so", "_cffi_backend"),
    ("google/protobuf/__init__.py", "google"),  # a namespace package imports too
    ("../../../bin/black", None),  # a script, outside site-packages
    ("black-24.1.0.dist-info/RECORD", None),
    ("__pycache__/six.cpython-311.pyc", None),
    ("distutils-precedence.pth", None),
    ("share-data/readme.txt", None),  # not an identifier: not importable
])
def test_top_level_module_of_an_installed_file(path, module):
    assert probe.top_level(path) == module


def test_private_modules_only_when_nothing_else():
    assert probe.modules_of(["yaml/__init__.py", "_yaml/__init__.py"]) == ["yaml"]
    assert probe.modules_of(["_cffi_backend.abi3.so"]) == ["_cffi_backend"]


@pytest.mark.parametrize("value, expected", [("", False), ("0", False), ("false", False), ("1", True),
                                             ("True", True), (" yes ", True)])
def test_conda_verify_setting(monkeypatch, value, expected):
    monkeypatch.setenv("METAFLOW_CONDA_VERIFY", value)
    assert settings.verify() is expected


def test_conda_verify_setting_refuses_a_typo(monkeypatch):
    monkeypatch.setenv("METAFLOW_CONDA_VERIFY", "ture")
    with pytest.raises(SpecError, match="METAFLOW_CONDA_VERIFY must be 1, true, yes or on .on., or 0, false, no, off or empty .off., not 'ture'"):
        settings.verify()
