"""The steps' locks in the code package (bootstrap.packaged_lock): read back like any lock, so
one edited in the package is refused, not installed. Where Metaflow's extracted package puts
the file is Metaflow's business (MetaflowCodeContent.get_filename): pointed at a file here;
the whole path runs on a simulated node in tests/e2e/test_remote_node.py."""
import json

import pytest
from metaflow.packaging_sys import MetaflowCodeContent

from metaflow_extensions.envs.plugins.envs.errors import EnvError
from metaflow_extensions.envs.plugins.envs.ids import EnvID
from metaflow_extensions.envs.plugins.envs.integration.bootstrap import LOCKS_FILE, packaged_lock

from .test_lock import _env


@pytest.fixture
def package_file(tmp_path, monkeypatch):
    path = tmp_path / LOCKS_FILE
    monkeypatch.setattr(MetaflowCodeContent, "get_filename",
                        classmethod(lambda cls, name, kind: str(path) if name == LOCKS_FILE else None))
    return path


def test_the_step_lock_comes_from_the_package(package_file):
    env = _env()
    package_file.write_text(json.dumps({"locks": [env.to_dict()]}))
    assert packaged_lock(EnvID.of(env)).full_id == env.full_id
    other = EnvID(env.req_id, "f" * 40, env.arch)
    assert packaged_lock(other) is None  # not in the package: looked up in the datastore


def test_an_edited_lock_is_refused(package_file):
    env = _env()
    data = env.to_dict()
    data["packages"][0]["url"] = "https://elsewhere.example/noarch/" + data["packages"][0]["filename"]
    package_file.write_text(json.dumps({"locks": [data]}))
    with pytest.raises(EnvError, match="in the code package's %s cannot be used .*does not match" % LOCKS_FILE):
        packaged_lock(EnvID.of(env))


def test_a_package_without_locks_falls_back(package_file):
    assert packaged_lock(EnvID.of(_env())) is None
