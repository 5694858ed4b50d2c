"""Index credentials from the `keyring` command, as clouds hand them out (Google Artifact
Registry, AWS CodeArtifact, Azure Artifacts): with METAFLOW_CONDA_PYPI_KEYRING_PROVIDER=subprocess,
uv resolves with them and this tool downloads wheels with them; they end up in no file, no
output and no command line. Without the setting, the resolve fails naming the credentials.

The cloud's keyring backend is replaced by one of the test's own (the only mock: no cloud here),
loaded by the real `keyring` command through PYTHON_KEYRING_BACKEND; the index is a real HTTP
server on 127.0.0.1 behind basic auth."""
import os
import secrets
import shutil
import sys
from pathlib import Path
from typing import Dict, Iterator

import pytest

from tests.fixtures.channel import host_can_run_real_python
from tests.fixtures.servers import StaticFileServer

from .test_credentials import _files

pytestmark = pytest.mark.skipif(not host_can_run_real_python(), reason="the test python only runs on linux-64")

USER = "oauth2accesstoken"  # the user name Google Artifact Registry's backend answers with

BACKEND = '''\
"""A keyring backend serving one token for one host, as a cloud's backend would."""
from pathlib import Path

from keyring.backend import KeyringBackend
from keyring.credentials import SimpleCredential

_HERE = Path(__file__).parent


class TokenKeyring(KeyringBackend):
    priority = 1

    def _mine(self, service):
        host = (_HERE / "host").read_text()
        with open(_HERE / "asked", "a") as log:  # what was asked, never the answer
            log.write(service + "\\n")
        return service == host or service.startswith("http://%s/" % host)

    def get_credential(self, service, username):
        if self._mine(service) and username in (None, "oauth2accesstoken"):
            return SimpleCredential("oauth2accesstoken", (_HERE / "token").read_text())
        return None

    def get_password(self, service, username):
        found = self.get_credential(service, username)
        return found.password if found else None

    def set_password(self, service, username, password):
        raise NotImplementedError

    def delete_password(self, service, username):
        raise NotImplementedError
'''


@pytest.fixture
def keyring_index(pypi_index, tmp_path) -> Iterator[Dict[str, object]]:
    """An index behind basic auth, a `keyring` command on PATH whose backend knows its token,
    and a recording `uv` (its command lines are checked)."""
    from uv import find_uv_bin

    token = "kr-token-" + secrets.token_hex(12)
    with StaticFileServer(pypi_index.root, auth=(USER, token)) as server:
        backend = tmp_path / "backend"
        backend.mkdir()
        (backend / "token_keyring.py").write_text(BACKEND)
        (backend / "token").write_text(token)
        (backend / "host").write_text("127.0.0.1:%d" % server.port)
        bindir = tmp_path / "bin"
        bindir.mkdir()
        commands = tmp_path / "command-lines"
        (bindir / "keyring").write_text(
            '#!/bin/sh\nprintf "keyring %%s\\n" "$*" >> "%s"\n'
            'PYTHONPATH="%s" PYTHON_KEYRING_BACKEND=token_keyring.TokenKeyring exec "%s" -m keyring "$@"\n'
            % (commands, backend, sys.executable))
        (bindir / "uv").write_text('#!/bin/sh\nprintf "uv %%s\\n" "$*" >> "%s"\nexec "%s" "$@"\n'
                                   % (commands, find_uv_bin()))
        for tool in ("keyring", "uv"):
            (bindir / tool).chmod(0o755)
        env = {"PATH": "%s%s%s" % (bindir, os.pathsep, os.environ.get("PATH", "")),
               "METAFLOW_ENVS_UV": str(bindir / "uv")}
        (tmp_path / "req.txt").write_text("--extra-index-url %s/simple\nmfenvs-alpha==1.0.0\n" % server.url)
        yield {"server": server, "token": token, "env": env, "commands": commands, "asked": backend / "asked"}


def test_keyring_credentials_resolve_and_download_and_go_nowhere(cli, keyring_index):
    server, token = keyring_index["server"], keyring_index["token"]
    env = dict(keyring_index["env"], METAFLOW_CONDA_PYPI_KEYRING_PROVIDER="subprocess")

    outputs = [cli.run("resolve", "-r", "req.txt", "--alias", "kr/alpha:v1", env=env)]
    assert any(r.path.startswith("/simple") and r.status == 200 and r.user == USER for r in server.requests)
    # Our own downloads: with the packages gone from the cache, create fetches the wheel again,
    # with what the keyring gives (nothing else knows the token).
    shutil.rmtree(cli.cache / "pkgs")
    mark = server.mark()
    outputs.append(cli.run("create", "kr/alpha:v1", env=env))
    wheels = [r for r in server.requests_since(mark) if r.path.endswith(".whl")]
    assert wheels and all(r.status == 200 and r.user == USER for r in wheels), wheels
    assert list((cli.cache / "envs" / "linux-64").glob("*/*/bin/python"))

    asked = keyring_index["asked"].read_text().splitlines()
    assert any(s.endswith(".whl") or s == "127.0.0.1:%d" % server.port for s in asked), asked
    commands = keyring_index["commands"].read_text()
    assert "keyring get" in commands and "uv " in commands
    for text in [commands] + [p.stdout + p.stderr for p in outputs]:
        assert token not in text
    for path in _files(cli.cache):
        assert token.encode() not in path.read_bytes(), "the token is in %s" % path
    for path in _files(cli.root / "home") if (cli.root / "home").exists() else ():
        assert token.encode() not in path.read_bytes(), "the token is in %s" % path


def test_without_the_setting_the_resolve_fails_naming_the_credentials(cli, keyring_index):
    message = cli.fails("resolve", "-r", "req.txt", env=keyring_index["env"])
    assert "401" in message and "METAFLOW_CONDA_PYPI_KEYRING_PROVIDER" in message, message
    assert not keyring_index["asked"].exists()  # nobody asked the keyring
