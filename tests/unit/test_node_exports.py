"""What a remote step runs with after the bootstrap (bootstrap.node_exports), as the reference
extension leaves a node; the whole path on a simulated node: tests/e2e/test_remote_node.py."""
from pathlib import Path

from metaflow_extensions.envs.plugins.envs.integration.bootstrap import node_exports

PREFIX = Path("/work/metaflow_envs/start")


def test_a_bare_node_gets_the_environment_libraries_only():
    assert node_exports({}, PREFIX, "linux-64") == {"LD_LIBRARY_PATH": "/work/metaflow_envs/start/lib"}


def test_the_image_entries_are_dropped_or_put_after_the_environment():
    exports = node_exports({"PYTHONPATH": "/work:/opt/image/pylib:/usr/lib/python3.11:/opt/venv/lib/python3.11/"
                                          "site-packages::/usr/lib/python3/dist-packages",
                            "LD_LIBRARY_PATH": "/usr/local/nvidia/lib64"}, PREFIX, "linux-aarch64")
    assert exports["PYTHONPATH"] == "/work:/opt/venv/lib/python3.11/site-packages:/usr/lib/python3/dist-packages"
    assert exports["MF_ORIG_PYTHONPATH"].startswith("/work:/opt/image/pylib:")
    assert exports["LD_LIBRARY_PATH"] == "/work/metaflow_envs/start/lib:/usr/local/nvidia/lib64"
    assert exports["MF_ORIG_LD_LIBRARY_PATH"] == "/usr/local/nvidia/lib64"


def test_macos_ignores_library_paths():
    assert node_exports({"PYTHONPATH": "/work"}, PREFIX, "osx-arm64") == {"PYTHONPATH": "/work",
                                                                         "MF_ORIG_PYTHONPATH": "/work"}
