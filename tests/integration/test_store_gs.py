"""The store on Google Cloud Storage (gcp-storage-emulator on 127.0.0.1, with a service-account
key exchanged for tokens on loopback): the scenarios every datastore passes (store_scenarios.py).
See tests/fixtures/gcs.py for how Metaflow's gs datastore is pointed at it."""
import pytest

from .store_scenarios import *  # noqa: F401,F403 - the shared scenarios, collected here for GCS


@pytest.fixture
def store_backend(gcs_server):
    return gcs_server
