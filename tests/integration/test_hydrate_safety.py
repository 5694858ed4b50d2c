"""Package filenames and archive members cannot escape their folder."""
import hashlib
import io
import json
import tarfile

import pytest

from metaflow_extensions.envs.plugins.envs.errors import HydrateError
from metaflow_extensions.envs.plugins.envs.hydrate.cache import PackageCache
from metaflow_extensions.envs.plugins.envs.hydrate.install import create_prefix
from metaflow_extensions.envs.plugins.envs.lock import CondaRecordInfo, LockedPackage, ResolvedEnvironment
from metaflow_extensions.envs.plugins.envs.spec.model import EnvSpec


def _env(*pkgs):
    return ResolvedEnvironment(spec=EnvSpec(), packages=tuple(pkgs), python_version="3.11.7")


@pytest.mark.parametrize("filename", ["../../evil.conda", "a/b.conda", "..", ""])
def test_unsafe_package_filenames_are_refused(tmp_path, filename):
    pkg = LockedPackage("conda", "evil", "1.0", "0", filename, "http://127.0.0.1:9/x", "a" * 64,
                        conda=CondaRecordInfo())
    with pytest.raises(HydrateError, match="unsafe package filename"):
        create_prefix(_env(pkg), tmp_path / "env", cache=PackageCache(tmp_path / "cache"))
    assert not (tmp_path / "evil.conda").exists() and not (tmp_path / "env").exists()


def _evil_package(path, member):
    index = {"name": "evil", "version": "1.0", "build": "0", "build_number": 0, "subdir": "noarch", "depends": []}
    paths = {"paths_version": 1, "paths": [
        {"_path": member, "path_type": "hardlink", "sha256": hashlib.sha256(b"bad").hexdigest(), "size_in_bytes": 3}]}
    with tarfile.open(path, "w:bz2") as archive:
        for name, data in (("info/index.json", json.dumps(index).encode()),
                           ("info/paths.json", json.dumps(paths).encode()), (member, b"bad")):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize("member", ["../../escape.txt", "/tmp/escape-abs.txt"])
def test_tar_slip_archive_is_refused(tmp_path, member, engine_settings):
    archive = tmp_path / "evil-1.0-0.tar.bz2"
    sha = _evil_package(archive, member)
    pkg = LockedPackage("conda", "evil", "1.0", "0", archive.name, archive.as_uri(), sha,
                        size=archive.stat().st_size, conda=CondaRecordInfo(subdir="noarch"))
    with pytest.raises(HydrateError, match="Refusing Conda package evil-1.0-0.tar.bz2: it would write .*escape"):
        create_prefix(_env(pkg), tmp_path / "a" / "b" / "env", cache=PackageCache(tmp_path / "cache"))
    assert not list(tmp_path.rglob("escape*")) and not (tmp_path / "a" / "b" / "env").exists()
