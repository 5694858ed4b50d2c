"""The store on a real Azure Blob server (Azurite on 127.0.0.1, over https, with tokens from a
managed-identity endpoint on loopback): the scenarios every datastore passes (store_scenarios.py).
See tests/fixtures/azure.py for how Metaflow's azure datastore is pointed at it."""
import pytest

from .store_scenarios import *  # noqa: F401,F403 - the shared scenarios, collected here for Azure
from .store_scenarios import run_driver, store_env


@pytest.fixture
def store_backend(azure_server):
    return azure_server


def test_failed_azure_sign_in_says_which_credential_failed(azure_server, s3_prefix, origin, tmp_path):
    env = store_env(azure_server, s3_prefix, origin, tmp_path / "a", METAFLOW_CONDA_STORE_RETRIES="1")
    env["IDENTITY_HEADER"] = "not-the-secret"  # the managed-identity endpoint answers 401
    proc = run_driver(env, "lookup", "team/tiny:v1", check=False)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    # Not just Metaflow's "please refer to the troubleshooting guidelines" line.
    assert "Failed to authenticate with Azure: " in proc.stderr and "DefaultAzureCredential failed" in proc.stderr
    assert "ManagedIdentityCredential" in proc.stderr
