"""The Azure and GCS test servers are what the store tests think they are: Metaflow's own
client code reaches them through the SDKs' real credential chains, and a missing npm fails
the Azure tests loudly instead of skipping them."""
import subprocess
import sys
import urllib.error
import urllib.request

import pytest

from tests.fixtures.azure import AzuriteError, azurite_blob_bin

ROUND_TRIP = """
from metaflow_extensions.envs.plugins.envs.store.datastore import EnvStore
store = EnvStore()
store.write_text("probe/a.txt", "hello")
print(store.read_text("probe/a.txt"))
"""


def test_missing_npm_fails_clearly(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))  # an empty dir: no npm
    with pytest.raises(AzuriteError, match="npm not found on PATH.*Install Node.js"):
        azurite_blob_bin()


@pytest.mark.parametrize("backend", ["azure_server", "gcs_server"])
def test_metaflow_reaches_the_server_with_a_token_from_loopback(backend, request, s3_prefix):
    server = request.getfixturevalue(backend)
    before = len(server.tokens.requests)
    proc = subprocess.run([sys.executable, "-c", ROUND_TRIP], env=server.subprocess_env(s3_prefix),
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and proc.stdout.strip() == "hello", proc.stderr
    assert any(k.endswith("/conda_env/probe/a.txt") for k in server.keys(s3_prefix))
    asked = server.tokens.requests[before:]
    assert asked and all(granted for _method, _path, granted in asked)


def test_azurite_refuses_requests_without_a_valid_token(azure_server, s3_prefix):
    env = azure_server.subprocess_env(s3_prefix)
    env["IDENTITY_HEADER"] = "not-the-secret"  # the token endpoint says 401: no token
    proc = subprocess.run([sys.executable, "-c", ROUND_TRIP], env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode != 0, proc.stdout
    assert azure_server.tokens.requests[-1][2] is False
    with pytest.raises(urllib.error.HTTPError) as err:  # anonymous
        urllib.request.urlopen(urllib.request.Request(
            "%s/%s?restype=container&comp=list" % (azure_server.endpoint_url, azure_server.container)),
            context=_trusting(azure_server.ca_file), timeout=10)
    assert err.value.code in (401, 403, 404)


def _trusting(ca_file):
    import ssl

    return ssl.create_default_context(cafile=str(ca_file))
