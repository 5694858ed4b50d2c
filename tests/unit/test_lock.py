"""The lock: versioned JSON, full_id from everything installed, never credentials, and
every field checked when a lock is read back."""
import json

import pytest

from metaflow_extensions.envs.plugins.envs.errors import SpecError
from metaflow_extensions.envs.plugins.envs.ids import EnvID
from metaflow_extensions.envs.plugins.envs.lock import (
    SCHEMA_VERSION, CondaRecordInfo, LockedPackage, LockError, ResolvedEnvironment, compute_full_id,
)
from metaflow_extensions.envs.plugins.envs.spec.model import CondaDep, EnvSpec, PypiDep, PypiSources


def _env():
    spec = EnvSpec(
        conda_deps=(CondaDep.parse("tinyutil>=1"),),
        pypi_deps=(PypiDep.parse("requests"),),
        pypi_sources=PypiSources(extra_index_urls=("https://u:topsecret@idx.example/simple",)),
        python="3.11.*",
    )
    pkgs = (
        LockedPackage("conda", "tinyutil", "1.1.0", "pyh_0", "tinyutil-1.1.0-pyh_0.conda",
                      "https://chan.example/noarch/tinyutil-1.1.0-pyh_0.conda", "a" * 64, 10,
                      conda=CondaRecordInfo(subdir="noarch", noarch="python", depends=("python >=3.8",))),
        LockedPackage("pypi", "requests", "2.32.0", "py3-none-any", "requests-2.32.0-py3-none-any.whl",
                      "https://u:topsecret@idx.example/files/requests-2.32.0-py3-none-any.whl", "b" * 64, 20),
    )
    return ResolvedEnvironment(spec=spec, packages=pkgs, python_version="3.11.7")


def test_roundtrip_keeps_identity_and_drops_credentials():
    env = _env()
    text = env.to_json()
    assert "topsecret" not in text
    back = ResolvedEnvironment.from_json(text)
    assert back.full_id == env.full_id and back.req_id == env.req_id
    assert back.packages[0].conda.depends == ("python >=3.8",)
    data = json.loads(text)
    assert data["schema_version"] == SCHEMA_VERSION and data["type"] == "mixed"
    assert {p["kind"] for p in data["packages"]} == {"conda", "pypi"}


def test_full_id_is_order_independent_and_content_sensitive():
    env = _env()
    pkgs = list(env.packages)
    assert compute_full_id(pkgs) == compute_full_id(pkgs[::-1])
    changed = [pkgs[0], LockedPackage(**dict(pkgs[1].__dict__, sha256="c" * 64))]
    assert compute_full_id(changed) != compute_full_id(pkgs)


def test_tampered_or_future_lock_is_refused():
    data = json.loads(_env().to_json())
    data["packages"][0]["sha256"] = "d" * 64
    with pytest.raises(SpecError, match="Corrupted lock"):
        ResolvedEnvironment.from_dict(data)
    data = json.loads(_env().to_json())
    data["schema_version"] = 99
    with pytest.raises(SpecError, match="Unsupported lock schema version 99"):
        ResolvedEnvironment.from_dict(data)
    with pytest.raises(SpecError, match="not JSON"):
        ResolvedEnvironment.from_json("{oops")


@pytest.mark.parametrize("path, value", [
    (("packages", 0, "version"), "1.2.0"),
    (("packages", 0, "build"), "pyh_1"),
    (("packages", 0, "url"), "https://evil.example/noarch/tinyutil-1.1.0-pyh_0.conda"),
    (("packages", 0, "conda", "depends"), ["python >=3.8", "evil"]),
    (("packages", 1, "version"), "2.33.0"),
    (("packages", 1, "size"), 21),
    (("python",), "3.11.8"),
    (("python_source",), "system"),
])
def test_every_field_that_changes_what_is_installed_is_covered_by_the_full_id(path, value):
    data = json.loads(_env().to_json())
    target = data
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    with pytest.raises(LockError, match="does not match its content"):
        ResolvedEnvironment.from_dict(data)


@pytest.mark.parametrize("field, value, message", [
    ("kind", "/tmp/outside", "has kind '/tmp/outside'"),
    ("filename", "../../evil.conda", "not a plain"),
    ("filename", "tinyutil-1.1.0-pyh_0.sh", "not a plain"),
    ("sha256", "../" + "a" * 61, "invalid sha256"),
    ("url", "ftp://chan.example/x.conda", "only http, https and file URLs"),
    ("url", "/etc/passwd", "only http, https and file URLs"),
    ("name", "../evil", "invalid name"),
    ("size", -1, "invalid size"),
])
def test_hostile_package_fields_are_refused_on_load(field, value, message):
    data = json.loads(_env().to_json())
    data["packages"][0][field] = value
    with pytest.raises(LockError, match=message):
        ResolvedEnvironment.from_dict(data)


@pytest.mark.parametrize("env_id", [
    {"req_id": "../../../tmp", "full_id": "a" * 40, "arch": "linux-64"},
    {"req_id": "a" * 40, "full_id": "A" * 40, "arch": "linux-64"},
    {"req_id": "a" * 40, "full_id": "a" * 40, "arch": "../linux-64"},
    "not-an-object",
])
def test_hostile_env_ids_are_refused(env_id):
    with pytest.raises(SpecError, match="Invalid environment"):
        EnvID.from_dict(env_id)
    data = json.loads(_env().to_json())
    data["env_id"] = env_id
    with pytest.raises(LockError, match="env_id is invalid"):
        ResolvedEnvironment.from_dict(data)


def test_a_lock_looked_up_by_id_must_hold_that_id():
    env = _env()
    other = EnvID(env.req_id, "f" * 40, env.arch)
    with pytest.raises(LockError, match="looked up as"):
        ResolvedEnvironment.from_json(env.to_json(), expected=other)
    assert ResolvedEnvironment.from_json(env.to_json(), expected=EnvID.of(env)).full_id == env.full_id


def test_env_id_text_form_round_trips():
    env_id = EnvID("a" * 40, "b" * 40, "osx-arm64")
    assert EnvID.parse(str(env_id)) == env_id
    with pytest.raises(SpecError, match="req_id:full_id:arch"):
        EnvID.parse("a" * 40)
