"""The shared fixtures are real: channels solve and install, servers enforce auth,
the PyPI index is usable by uv. Fast; no network beyond 127.0.0.1."""
from __future__ import annotations

import asyncio
import base64
import hashlib
import http.client
import json
import os
import re
import subprocess
import threading
import urllib.error
import urllib.request
import zipfile
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

import pytest
import rattler
from rattler import BuildString, GenericVirtualPackage, PackageName, Version
from rattler.exceptions import SolverError
from rattler.networking import AddHeadersMiddleware, Client

from tests.fixtures.cache import COMPLETE_MARKER, cached_build
from tests.fixtures.channel import (
    CHANNEL_NAMES,
    INVENTORY,
    PY_MAJOR_MINOR,
    PYTHON_VERSION,
    SUBDIRS,
    ensure_channels,
    host_can_run_real_python,
    packages_in,
)
from tests.fixtures.pypi_index import LOCAL_PROJECT, PROJECTS, PypiIndex, PypiIndexServer
from tests.fixtures.servers import StaticFileServer

needs_real_python = pytest.mark.skipif(
    not host_can_run_real_python(), reason="the runnable python package is made for linux-64 hosts only"
)


def _vp(name: str, version: str, build: str = "0") -> GenericVirtualPackage:
    return GenericVirtualPackage(PackageName(name), Version(version), BuildString(build))


VIRTUALS = {
    "linux-64": [_vp("__glibc", "2.28"), _vp("__unix", "0")],
    "osx-arm64": [_vp("__osx", "14.0"), _vp("__unix", "0")],
}


def _http(url: str, auth: Optional[Tuple[str, str]] = None, method: str = "GET",
          headers: Optional[Dict[str, str]] = None) -> Tuple[int, Dict[str, str], bytes]:
    req = urllib.request.Request(url, method=method, headers=dict(headers or {}))
    if auth:
        token = base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
        req.add_header("Authorization", f"Basic {token}")
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, dict(resp.headers), resp.read()
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers), err.read()


def _solve(channels: Sequence[rattler.Channel], specs: List[str], platform: str,
           cache: Path, client: Optional[Client] = None) -> Dict[str, rattler.RepoDataRecord]:
    async def run() -> List[rattler.RepoDataRecord]:
        gateway = rattler.Gateway(cache_dir=cache, client=client)
        return await rattler.solve(
            list(channels), specs, gateway=gateway, platforms=[platform, "noarch"],
            virtual_packages=VIRTUALS[platform],
        )

    return {r.name.normalized: r for r in asyncio.run(run())}


# ------------------------------------------------------------------ channels on disk


def test_every_subdir_has_repodata_listing_the_inventory(conda_channels_dir: Path) -> None:
    for channel in CHANNEL_NAMES:
        for subdir in SUBDIRS:
            repodata = json.loads((conda_channels_dir / channel / subdir / "repodata.json").read_text())
            entries = {**repodata.get("packages", {}), **repodata.get("packages.conda", {})}
            expected = {p.filename: p for p in packages_in(channel, subdir)}
            assert set(entries) == set(expected), (channel, subdir)
            for filename, entry in entries.items():
                pkg = expected[filename]
                assert (entry["name"], entry["version"], entry["subdir"]) == (pkg.name, pkg.version, subdir)
                assert sorted(entry["depends"]) == sorted(pkg.depends)
                blob = (conda_channels_dir / channel / subdir / filename).read_bytes()
                assert entry["sha256"] == hashlib.sha256(blob).hexdigest()
                assert entry["size"] == len(blob)
                if pkg.noarch:
                    assert entry["noarch"] == pkg.noarch


def test_both_archive_formats_present(conda_channels_dir: Path) -> None:
    noarch = json.loads((conda_channels_dir / "conda-forge" / "noarch" / "repodata.json").read_text())
    legacy = {e["name"] + "-" + e["version"] for e in noarch["packages"].values()}
    modern = {e["name"] + "-" + e["version"] for e in noarch["packages.conda"].values()}
    assert legacy == {"tinyutil-1.0.0"}
    assert "tinyutil-1.1.0" in modern and "tinyutil-1.0.0" not in modern


def test_channels_are_cached(conda_channels_dir: Path) -> None:
    assert (conda_channels_dir / COMPLETE_MARKER).exists()
    assert ensure_channels() == conda_channels_dir
    assert len(INVENTORY) == sum(len(packages_in(c)) for c in CHANNEL_NAMES)


def test_cached_build_builds_once_under_contention(tmp_path: Path) -> None:
    calls: List[int] = []

    def build(out: Path) -> None:
        calls.append(1)
        (out / "payload").write_text("x")

    results: List[Path] = []
    threads = [
        threading.Thread(target=lambda: results.append(cached_build("thing", "k1", build, root=tmp_path)))
        for _ in range(4)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(calls) == 1 and len(set(results)) == 1
    assert (results[0] / "payload").read_text() == "x"
    assert not list(tmp_path.glob(".thing-*"))  # no temp dirs left behind

    def broken(out: Path) -> None:
        (out / "half").write_text("x")
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        cached_build("thing", "k2", broken, root=tmp_path)
    assert not (tmp_path / "thing-k2").exists() and not list(tmp_path.glob(".thing-k2*"))


# ------------------------------------------------------------------------ servers


def test_channel_server_serves_files_ranges_and_404(channel_server: StaticFileServer,
                                                    conda_channels_dir: Path) -> None:
    mark = channel_server.mark()
    url = channel_server.url + "/conda-forge/noarch/repodata.json"
    status, headers, body = _http(url)
    assert status == 200 and headers["Content-Type"] == "application/json"
    assert body == (conda_channels_dir / "conda-forge/noarch/repodata.json").read_bytes()
    assert int(headers["Content-Length"]) == len(body)

    status, headers, head_body = _http(url, method="HEAD")
    assert status == 200 and head_body == b"" and int(headers["Content-Length"]) == len(body)

    status, headers, part = _http(url, headers={"Range": "bytes=2-9"})
    assert status == 206 and part == body[2:10]
    assert headers["Content-Range"] == f"bytes 2-9/{len(body)}"
    status, _, tail = _http(url, headers={"Range": "bytes=-5"})
    assert status == 206 and tail == body[-5:]

    status, _, _ = _http(url, headers={"If-None-Match": headers["ETag"]})
    assert status == 304
    assert _http(channel_server.url + "/conda-forge/noarch/nope.conda")[0] == 404
    assert _http(channel_server.url + "/../../etc/passwd")[0] == 404

    log = channel_server.requests_since(mark)
    assert [r.status for r in log] == [200, 200, 206, 206, 304, 404, 404]
    assert [r.method for r in log][:2] == ["GET", "HEAD"]
    assert not any(r.has_auth for r in log)


def test_auth_server_requires_the_right_credentials(auth_channel_server: StaticFileServer) -> None:
    url = auth_channel_server.url + "/conda-forge/linux-64/repodata.json"
    user, password = auth_channel_server.username, auth_channel_server.password
    assert user and password and password.startswith("pw-")
    mark = auth_channel_server.mark()

    status, headers, _ = _http(url)
    assert status == 401 and headers["WWW-Authenticate"].startswith("Basic realm=")
    assert _http(url, auth=(user, "wrong"))[0] == 401
    assert _http(url, auth=("nobody", password))[0] == 401
    status, _, body = _http(url, auth=(user, password))
    assert status == 200 and json.loads(body)["info"]["subdir"] == "linux-64"

    log = auth_channel_server.requests_since(mark)
    assert [(r.status, r.has_auth, r.user) for r in log] == [
        (401, False, None), (401, True, user), (401, True, "nobody"), (200, True, user)
    ]


def test_stopped_server_is_unreachable(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("hello")
    server = StaticFileServer(tmp_path).start()
    url = server.url + "/a.txt"
    assert _http(url)[2] == b"hello"
    keep_alive = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
    keep_alive.request("GET", "/a.txt")
    assert keep_alive.getresponse().read() == b"hello"
    server.stop()
    with pytest.raises(OSError):
        urllib.request.urlopen(url, timeout=2)
    # Open keep-alive connections are cut too, not left serving.
    with pytest.raises((OSError, http.client.HTTPException)):
        keep_alive.request("GET", "/a.txt")
        keep_alive.getresponse()


# --------------------------------------------------------------------- pypi index


def test_pypi_index_pages_match_files(pypi_index_server: PypiIndexServer) -> None:
    srv, auth = pypi_index_server, (pypi_index_server.username, pypi_index_server.password)
    assert srv.index_url == srv.url + "/simple" and srv.password.startswith("pw-")
    assert _http(srv.index_url + "/")[0] == 401

    status, _, root = _http(srv.index_url + "/", auth=auth)
    assert status == 200
    published = {p.normalized for p in PROJECTS if p.publish}
    assert set(re.findall(r'href="([^"/]+)/"', root.decode())) == published
    assert LOCAL_PROJECT.normalized not in published

    for name in sorted(published):
        status, headers, page = _http(f"{srv.index_url}/{name}/", auth=auth)
        assert status == 200 and headers["Content-Type"].startswith("text/html")
        links = re.findall(r'href="\.\./\.\./files/([^"#]+)#sha256=([0-9a-f]{64})"', page.decode())
        assert sorted(f for f, _ in links) == sorted(p.name for p in srv.index.files_of(name))
        for filename, digest in links:
            status, _, blob = _http(f"{srv.url}/files/{filename}", auth=auth)
            assert status == 200 and hashlib.sha256(blob).hexdigest() == digest

    # Project pages without the trailing slash redirect (urllib follows, keeping auth).
    status, _, _ = _http(f"{srv.index_url}/mfenvs-beta", auth=auth)
    assert status == 200


def test_wheels_are_well_formed(pypi_index: PypiIndex) -> None:
    for p in PROJECTS:
        if "wheel" not in p.publish:
            continue
        with zipfile.ZipFile(pypi_index.files_dir / p.wheel_filename) as zf:
            info = f"{p.dist_name}-{p.version}.dist-info"
            meta = zf.read(f"{info}/METADATA").decode()
            assert f"Name: {p.name}\n" in meta and f"Version: {p.version}\n" in meta
            assert "Tag: py3-none-any" in zf.read(f"{info}/WHEEL").decode()
            for line in zf.read(f"{info}/RECORD").decode().splitlines():
                name, digest, size = line.split(",")
                if digest:
                    data = zf.read(name)
                    expect = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
                    assert digest == "sha256=" + expect and int(size) == len(data)
    assert (pypi_index.files_dir / "mfenvs_sdistonly-0.1.0.tar.gz").is_file()
    assert (pypi_index.local_project_source / "pyproject.toml").is_file()


def test_local_project_dir_is_a_private_copy(local_project_dir: Path, pypi_index: PypiIndex) -> None:
    assert local_project_dir != pypi_index.local_project_source
    assert 'name = "mfenvs-localdir"' in (local_project_dir / "pyproject.toml").read_text()
    assert (local_project_dir / "mfenvs_localdir" / "__init__.py").is_file()


def _uv() -> str:
    import uv

    return uv.find_uv_bin()


def _uv_env(tmp: Path) -> Dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("UV_", "PIP_", "VIRTUAL_ENV"))}
    env.update(UV_CACHE_DIR=str(tmp / "uv-cache"), UV_PYTHON_DOWNLOADS="never", UV_NO_CONFIG="1")
    return env


def test_uv_resolves_against_the_index(pypi_index_server: PypiIndexServer, tmp_path: Path) -> None:
    mark = pypi_index_server.server.mark()
    out = subprocess.run(
        [_uv(), "pip", "compile", "-", "--index-url", pypi_index_server.index_url_with_credentials,
         "--python-version", PY_MAJOR_MINOR, "--python-platform", "x86_64-manylinux_2_28", "--no-header"],
        input="mfenvs-beta\n", capture_output=True, text=True, env=_uv_env(tmp_path), timeout=120, check=False,
    )
    assert out.returncode == 0, out.stderr
    pins = sorted(line for line in out.stdout.splitlines() if "==" in line)
    assert pins == ["mfenvs-alpha==2.0.0", "mfenvs-beta==1.0.0"]
    log = pypi_index_server.server.requests_since(mark)
    assert log and all(r.has_auth for r in log if r.status != 401)
    assert any(r.status == 200 and r.path.startswith("/simple/mfenvs-beta") for r in log)


# ---------------------------------------------------------------- rattler solves


@pytest.mark.parametrize("platform", ["linux-64", "osx-arm64"])
def test_solve_python_tinyutil_chain(channel_server: StaticFileServer, platform: str, tmp_path: Path) -> None:
    channel = rattler.Channel(channel_server.url + "/conda-forge")
    got = _solve([channel], ["python", "tinyutil", "chaina"], platform, tmp_path)
    versions = {name: str(r.version) for name, r in got.items()}
    assert versions == {
        "python": PYTHON_VERSION, "tinyutil": "2.0.0", "chaina": "2.0.0", "chainb": "2.1.0", "chainc": "0.3.0"
    }
    assert got["python"].subdir == platform and got["tinyutil"].subdir == "noarch"
    assert got["python"].url.startswith(channel_server.url + f"/conda-forge/{platform}/")
    assert all(r.sha256 for r in got.values())

    older = _solve([channel], ["python", "chaina <2"], platform, tmp_path)
    assert str(older["chainb"].version) == "1.5.0"


def test_solve_by_channel_name_via_alias(channel_server: StaticFileServer, tmp_path: Path) -> None:
    config = rattler.ChannelConfig(channel_alias=channel_server.url + "/")
    channels = [rattler.Channel(name, config) for name in ("comet_ml", "conda-forge")]
    got = _solve(channels, ["comet_ml", "python", "nativelib 1.0.*"], "linux-64", tmp_path)
    assert str(got["comet_ml"].version) == "3.32.0"
    assert "/comet_ml/noarch/" in got["comet_ml"].url
    assert got["nativelib"].url.endswith(".conda") and str(got["nativelib"].version) == "1.0.0"


def test_unsatisfiable_virtual_package(channel_server: StaticFileServer, tmp_path: Path) -> None:
    channel = rattler.Channel(channel_server.url + "/conda-forge")
    with pytest.raises(SolverError, match="__glibc"):
        _solve([channel], ["needsnewglibc"], "linux-64", tmp_path)


def test_solve_through_basic_auth(auth_channel_server: StaticFileServer, tmp_path: Path) -> None:
    user, password = auth_channel_server.username, auth_channel_server.password
    token = base64.b64encode(f"{user}:{password}".encode()).decode()

    def add_auth(host: str, path: str) -> Optional[Dict[str, str]]:
        return {"Authorization": f"Basic {token}"} if host == "127.0.0.1" else None

    client = Client([AddHeadersMiddleware(add_auth)])
    channels = [rattler.Channel(auth_channel_server.url + c) for c in ("/defaults", "/conda-forge")]
    mark = auth_channel_server.mark()
    got = _solve(channels, ["pandas"], "linux-64", tmp_path / "ok", client=client)
    # Strict priority: pandas and numpy from defaults (not conda-forge's numpy 2.1.0), python from conda-forge.
    assert {n: str(r.version) for n, r in got.items()} == {
        "pandas": "2.2.3", "numpy": "1.26.4", "python": PYTHON_VERSION
    }
    assert "/defaults/noarch/" in got["numpy"].url and "/conda-forge/" in got["python"].url
    assert all(r.has_auth and r.user == user for r in auth_channel_server.requests_since(mark))

    with pytest.raises(Exception, match="401|nauthori"):
        _solve(channels, ["pandas"], "linux-64", tmp_path / "anon")


# ---------------------------------------------------------------- real install


@pytest.fixture(scope="module")
def pkgs_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One rattler package cache for this module: python is extracted once."""
    return tmp_path_factory.mktemp("rattler-pkgs")


@pytest.fixture(scope="module")
def linux_prefix(
    channel_server: StaticFileServer, tmp_path_factory: pytest.TempPathFactory, pkgs_cache: Path
) -> Path:
    """python + tinyutil + chaina + nativelib from the served channel, installed by rattler."""
    if not host_can_run_real_python():
        pytest.skip("the runnable python package is made for linux-64 hosts only")
    tmp = tmp_path_factory.mktemp("linux-prefix")
    channel = rattler.Channel(channel_server.url + "/conda-forge")
    records = list(_solve([channel], ["python", "tinyutil", "chaina", "nativelib"], "linux-64", tmp).values())
    prefix = tmp / "env"
    asyncio.run(rattler.install(records, prefix, cache_dir=pkgs_cache, show_progress=False))
    return prefix


def _clean_env() -> Dict[str, str]:
    return {"PATH": "/usr/bin:/bin", "HOME": os.environ.get("HOME", "/tmp"), "LANG": "C.UTF-8"}


@needs_real_python
def test_installed_python_runs_from_its_prefix(linux_prefix: Path) -> None:
    code = (
        "import sys, ssl, sqlite3, json, tinyutil, chaina, importlib.metadata as md\n"
        "maps = open('/proc/self/maps').read()\n"
        "libpy = sorted({l.split()[-1] for l in maps.splitlines() if 'libpython' in l})\n"
        "print(json.dumps({'prefix': sys.prefix, 'version': sys.version.split()[0],\n"
        "  'tinyutil': tinyutil.__version__, 'dist': md.version('tinyutil'), 'source': chaina.__source__,\n"
        "  'site': tinyutil.__file__, 'libpython': libpy}))\n"
    )
    out = subprocess.run([str(linux_prefix / "bin" / "python"), "-c", code], capture_output=True, text=True,
                         env=_clean_env(), timeout=60, check=False)
    assert out.returncode == 0, out.stderr
    info = json.loads(out.stdout)
    assert info["prefix"] == str(linux_prefix) and info["version"] == PYTHON_VERSION
    assert info["tinyutil"] == info["dist"] == "2.0.0" and info["source"] == "conda:conda-forge"
    assert info["site"].startswith(str(linux_prefix / "lib" / f"python{PY_MAJOR_MINOR}" / "site-packages"))
    # The copied libpython is the one loaded: the RUNPATH rewrite worked.
    assert all(p.startswith(str(linux_prefix)) for p in info["libpython"])

    native = subprocess.run([str(linux_prefix / "bin" / "nativelib-info")], capture_output=True, text=True,
                            check=True)
    assert native.stdout.strip() == "nativelib 1.2.0 linux-64"


@needs_real_python
def test_tar_bz2_package_installs(channel_server: StaticFileServer, tmp_path: Path, pkgs_cache: Path) -> None:
    channel = rattler.Channel(channel_server.url + "/conda-forge")
    records = _solve([channel], ["python", "tinyutil ==1.0.0"], "linux-64", tmp_path)
    assert records["tinyutil"].url.endswith(".tar.bz2")
    prefix = tmp_path / "env"
    asyncio.run(rattler.install(list(records.values()), prefix, cache_dir=pkgs_cache, show_progress=False))
    out = subprocess.run([str(prefix / "bin" / "python"), "-c", "import tinyutil; print(tinyutil.__version__)"],
                         capture_output=True, text=True, env=_clean_env(), check=False)
    assert out.stdout.strip() == "1.0.0", out.stderr


@needs_real_python
def test_python_alone_has_site_packages(
    channel_server: StaticFileServer, tmp_path: Path, pkgs_cache: Path
) -> None:
    channel = rattler.Channel(channel_server.url + "/conda-forge")
    records = _solve([channel], ["python"], "linux-64", tmp_path)
    prefix = tmp_path / "env"
    asyncio.run(rattler.install(list(records.values()), prefix, cache_dir=pkgs_cache, show_progress=False))
    assert (prefix / "lib" / f"python{PY_MAJOR_MINOR}" / "site-packages").is_dir()
    assert os.readlink(prefix / "bin" / "python") == f"python{PY_MAJOR_MINOR}"


@needs_real_python
def test_uv_installs_into_the_conda_python(
    linux_prefix: Path, pypi_index_server: PypiIndexServer, tmp_path: Path
) -> None:
    python = str(linux_prefix / "bin" / "python")
    out = subprocess.run(
        [_uv(), "pip", "install", "--python", python, "--index-url",
         pypi_index_server.index_url_with_credentials, "mfenvs-beta"],
        capture_output=True, text=True, env=_uv_env(tmp_path), timeout=120, check=False,
    )
    assert out.returncode == 0, out.stderr
    code = (
        "import mfenvs_alpha, mfenvs_beta, tinyutil; "
        "print(mfenvs_alpha.__version__, mfenvs_beta.__source__, tinyutil.__version__)"
    )
    check = subprocess.run([python, "-c", code], capture_output=True, text=True, env=_clean_env(), check=False)
    assert check.stdout.split() == ["2.0.0", "pypi:wheel", "2.0.0"], check.stderr
