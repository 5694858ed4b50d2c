import pytest

from tests.fixtures.servers import StaticFileServer


@pytest.fixture(scope="session")
def shared_cache_dir(tmp_path_factory):
    """One package cache for the engine tests of a worker: later tests reuse downloads."""
    return tmp_path_factory.mktemp("mfenvs-cache")


@pytest.fixture
def engine_settings(monkeypatch, channel_server, shared_cache_dir):
    """Point the engine at the local channel (through the channel alias, as a mirror would)."""
    monkeypatch.setenv("METAFLOW_CONDA_CHANNEL_ALIAS", channel_server.url + "/")
    monkeypatch.setenv("METAFLOW_CONDA_CHANNELS", "conda-forge")
    monkeypatch.setenv("METAFLOW_CONDA_CACHE_DIR", str(shared_cache_dir))
    monkeypatch.setenv("METAFLOW_CONDA_PYTHON_SOURCE", "conda")
    monkeypatch.delenv("METAFLOW_CONDA_SRCS_AUTH_INFO", raising=False)
    return shared_cache_dir


@pytest.fixture
def origin(conda_channels_dir):
    """A channel server of the test's own, which it may stop to prove later steps never reach it."""
    server = StaticFileServer(conda_channels_dir)
    server.start()
    yield server
    server.stop()
