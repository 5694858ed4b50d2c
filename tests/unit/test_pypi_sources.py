"""How a request's PyPI sources reach uv: a config file without secrets, credentials in uv's
per-index environment variables."""
try:
    import tomllib
except ImportError:  # Python < 3.11
    import tomli as tomllib

from metaflow_extensions.envs.plugins.envs.auth import Credentials
from metaflow_extensions.envs.plugins.envs.errors import SpecError
from metaflow_extensions.envs.plugins.envs.resolve.pypi import source_options
from metaflow_extensions.envs.plugins.envs.spec.model import EnvSpec, PypiSources


import pytest


@pytest.fixture(autouse=True)
def _no_netrc(tmp_path, monkeypatch):
    monkeypatch.setenv("NETRC", str(tmp_path / "no-netrc"))  # this machine's ~/.netrc stays out


def _options(tmp_path, sources, credentials=None):
    args, env = source_options(EnvSpec(pypi_sources=sources), credentials or Credentials(), tmp_path)
    return args, env, tomllib.loads((tmp_path / "uv.toml").read_text())


def test_indexes_in_priority_order_with_credentials_only_in_the_environment(tmp_path, monkeypatch):
    monkeypatch.delenv("METAFLOW_CONDA_PYPI_INDEX_MAX_AGE", raising=False)
    sources = PypiSources(index_url="https://mirror.example/simple",
                          extra_index_urls=("https://bob:s3cret@private.example/simple",))
    args, env, config = _options(tmp_path, sources)
    assert [(i["url"], i.get("default", False)) for i in config["index"]] == [
        ("https://private.example/simple", False), ("https://mirror.example/simple", True)]
    assert {i["cache-control"]["api"] for i in config["index"]} == {"max-age=600"}
    assert "s3cret" not in (tmp_path / "uv.toml").read_text() and "s3cret" not in " ".join(args)
    assert env == {"UV_INDEX_INDEX0_USERNAME": "bob", "UV_INDEX_INDEX0_PASSWORD": "s3cret"}
    assert "--no-cache" not in args


def test_default_index_and_credentials_from_auth_info(tmp_path, monkeypatch):
    monkeypatch.setenv("METAFLOW_CONDA_PYPI_INDEX_MAX_AGE", "30")
    credentials = Credentials({"pypi.org": ("alice", "pw")})
    _, env, config = _options(tmp_path, PypiSources(), credentials)
    (index,) = config["index"]
    assert index["url"] == "https://pypi.org/simple" and index["default"] is True
    assert index["cache-control"]["api"] == "max-age=30"
    assert env == {"UV_INDEX_INDEX0_USERNAME": "alice", "UV_INDEX_INDEX0_PASSWORD": "pw"}


def test_max_age_zero_bypasses_uv_cache_and_no_index_names_none(tmp_path, monkeypatch):
    monkeypatch.setenv("METAFLOW_CONDA_PYPI_INDEX_MAX_AGE", "0")
    args, _, _ = _options(tmp_path, PypiSources())
    assert "--no-cache" in args
    args, env, config = _options(tmp_path, PypiSources(no_index=True, find_links=("/wheels",)))
    assert config == {} and env == {"UV_FIND_LINKS": "/wheels"}  # never a flag: see below
    assert args[2:] == ["--no-index", "--no-cache"]


def test_find_links_go_through_the_environment_with_their_credentials(tmp_path):
    credentials = Credentials({"links.example": ("bob", "p@ss,w")})
    args, env, _ = _options(tmp_path, PypiSources(find_links=("/wheels", "https://links.example/w/")), credentials)
    assert "p@ss" not in " ".join(args)
    assert env["UV_FIND_LINKS"] == "/wheels,https://bob:p%40ss%2Cw@links.example/w/"


def test_a_comma_in_a_find_links_location_is_refused(tmp_path):
    with pytest.raises(SpecError, match="find-links location /my,wheels contains a comma"):
        _options(tmp_path, PypiSources(find_links=("/my,wheels",)))
