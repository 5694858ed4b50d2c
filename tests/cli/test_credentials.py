"""Inline `user:pass@` index credentials through the command line: `resolve` fetches every
package with them, so a later `create` (another process, no credentials) needs none; and
they end up in no file and no output, whatever characters the password holds."""
import os
from pathlib import Path
from typing import Iterator, List

import pytest

from tests.fixtures.channel import host_can_run_real_python
from tests.fixtures.servers import StaticFileServer

pytestmark = pytest.mark.skipif(not host_can_run_real_python(), reason="the test python only runs on linux-64")

SPECIAL = "p@ss:w%rd"
SPELLINGS = {"plain": ("mfenvs-user", "plain-pw-123"), "raw": ("mfenvs-user", SPECIAL),
             "encoded": ("mfenvs-user", "p%40ss%3Aw%25rd")}


@pytest.fixture
def private_index(pypi_index) -> Iterator[StaticFileServer]:
    with StaticFileServer(pypi_index.root, auth=("mfenvs-user", "plain-pw-123")) as plain, \
            StaticFileServer(pypi_index.root, auth=("mfenvs-user", SPECIAL)) as special:
        yield {"plain": plain, "raw": special, "encoded": special}


def _requirements(cli, server: StaticFileServer, user: str, written: str) -> str:
    (cli.root / "req.txt").write_text("--extra-index-url http://%s:%s@127.0.0.1:%d/simple\nmfenvs-alpha==1.0.0\n"
                                      % (user, written, server.port))
    return "req.txt"


def _files(root: Path) -> Iterator[Path]:
    for dirpath, _, names in os.walk(root):
        for name in names:
            path = Path(dirpath) / name
            if path.is_file() and not path.is_symlink():
                yield path


def _forms(password: str) -> List[str]:
    from urllib.parse import quote, unquote

    raw = unquote(password)
    return sorted({raw, quote(raw, safe=""), quote(raw, safe="").lower()})


@pytest.mark.parametrize("spelling", sorted(SPELLINGS))
def test_resolve_fetches_with_inline_credentials_so_create_needs_none(cli, private_index, spelling):
    server = private_index[spelling]
    user, written = SPELLINGS[spelling]
    outputs = [cli.run("resolve", "-r", _requirements(cli, server, user, written), "--alias", "x/y:v1")]
    mark = server.mark()
    outputs.append(cli.run("create", "x/y:v1"))  # a new process, and nothing says the password
    assert not server.requests_since(mark)  # everything came from the cache
    assert list((cli.cache / "envs" / "linux-64").glob("*/*/bin/python"))

    for form in _forms(written):
        for proc in outputs:
            assert form not in proc.stdout + proc.stderr
        for path in _files(cli.cache):
            assert form.encode() not in path.read_bytes(), "the password (%s) is in %s" % (form, path)


def test_dry_run_fetches_nothing(cli, private_index):
    server = private_index["plain"]
    cli.run("resolve", "--dry-run", "-r", _requirements(cli, server, *SPELLINGS["plain"]))
    assert not list((cli.cache / "pkgs").glob("*/*/*"))
