"""`create --into-dir` for a step without a code package: which Metaflow version the step
recorded, and what --strict / --no-strict do when there is none (tests/cli/test_create_strict.py
runs the real command). A Task here is a stand-in holding only `metadata_dict`, what is read."""
import types

import pytest

from metaflow_extensions.envs.plugins.envs.cli.step_metaflow import recorded_version, with_step_metaflow
from metaflow_extensions.envs.plugins.envs.errors import EnvError


@pytest.mark.parametrize("value, version", [
    ("2.19.39", "2.19.39"),
    ("2.19.39+envs(0.1.0);netflix-ext(1.3.15)", "2.19.39"),  # extensions: the local part
    ("2.12.0rc1", "2.12.0rc1"),
    ("2.15.21.post1", "2.15.21.post1"),
    ("unknown", None),
    (None, None),
])
def test_recorded_version_is_the_public_part(value, version):
    task = types.SimpleNamespace(metadata_dict={} if value is None else {"metaflow_version": value})
    assert recorded_version(task) == version
    assert recorded_version(None) is None


def test_nothing_recorded_fails_with_strict_and_warns_without():
    env = object()  # not looked at: there is nothing to add
    with pytest.raises(EnvError, match="step F/1/start recorded no Metaflow version: the step has no code package "
                                       "to take it from. Add --no-strict"):
        with_step_metaflow(None, env, None, "F/1/start", True, print)
    warned = []
    assert with_step_metaflow(None, env, None, "F/1/start", False, warned.append) is env
    assert warned == ["step F/1/start recorded no Metaflow version: creating the environment without it (--no-strict)."]
