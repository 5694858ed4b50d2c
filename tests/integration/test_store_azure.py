"""The store on a real Azure Blob server (Azurite on 127.0.0.1, over https, with tokens from a
managed-identity endpoint on loopback): the scenarios every datastore passes (store_scenarios.py).
See tests/fixtures/azure.py for how Metaflow's azure datastore is pointed at it."""
import pytest

from .store_scenarios import *  # noqa: F401,F403 - the shared scenarios, collected here for Azure


@pytest.fixture
def store_backend(azure_server):
    return azure_server

