"""The lock: versioned JSON, full_id from packages, never credentials."""
import json

import pytest

from metaflow_extensions.envs.plugins.envs.errors import SpecError
from metaflow_extensions.envs.plugins.envs.lock import (
    CondaRecordInfo, LockedPackage, ResolvedEnvironment, compute_full_id,
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
    assert data["schema_version"] == 1 and data["type"] == "mixed"
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
