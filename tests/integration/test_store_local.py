"""The store on Metaflow's local datastore: publish, hydrate from it, aliases, reuse."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from metaflow_extensions.envs.plugins.envs.environments import Environments
from metaflow_extensions.envs.plugins.envs.errors import AliasConflict, CorruptLock, EnvError, SpecError
from metaflow_extensions.envs.plugins.envs.plumbing.cache import PackageCache
from metaflow_extensions.envs.plugins.envs.hydrate.prefix import python_in
from metaflow_extensions.envs.plugins.envs.spec.model import CondaDep, EnvSpec, PypiDep
from metaflow_extensions.envs.plugins.envs.ids import EnvID, parse_alias, pathspec_alias
from metaflow_extensions.envs.plugins.envs.store.aliases import read_alias
from metaflow_extensions.envs.plugins.envs.store.datastore import EnvStore
from metaflow_extensions.envs.plugins.envs.store.local import LocalIndex

from tests.fixtures.servers import StaticFileServer

from .conftest_helpers import run_python


def _spec(conda=("tinyutil",), pypi=("six==1.16.0",)):
    return EnvSpec(conda_deps=tuple(CondaDep.parse(c) for c in conda), pypi_deps=tuple(PypiDep.parse(p) for p in pypi))


@pytest.fixture
def store_root(tmp_path):
    return tmp_path / "datastore" / "conda_env"


def _machine(tmp_path: Path, name: str, store_root: Path) -> Environments:
    """A 'machine': its own cache and local index, sharing the datastore."""
    cache_root = tmp_path / name
    return Environments(
        store=EnvStore("local", str(store_root)),
        index=LocalIndex(cache_root),
        cache=PackageCache(cache_root / "pkgs"),
    )


@pytest.fixture
def own_channel(conda_channels_dir, monkeypatch):
    """A channel server this test may stop, to prove later steps never reach the origin."""
    server = StaticFileServer(conda_channels_dir)
    server.start()
    monkeypatch.setenv("METAFLOW_CONDA_CHANNEL_ALIAS", server.url + "/")
    yield server
    server.stop()


def test_publish_then_hydrate_from_store_alone(engine_settings, own_channel, tmp_path, store_root, monkeypatch):
    alice = _machine(tmp_path, "alice", store_root)
    env = alice.resolve(_spec())
    alice.publish(env)
    for pkg in env.packages:
        assert (store_root / "packages" / pkg.kind / pkg.sha256 / pkg.filename).is_file()
    lock = store_root / "envs" / "linux-64" / env.req_id / env.full_id / "env.json"
    assert json.loads(lock.read_text())["env_id"]["full_id"] == env.full_id

    # Publishing again changes nothing: every object is written once.
    mtimes = {p: p.stat().st_mtime_ns for p in store_root.rglob("*") if p.is_file()}
    alice.publish(env)
    assert {p: p.stat().st_mtime_ns for p in store_root.rglob("*") if p.is_file()} == mtimes

    # A cold node: empty caches, origin gone. Everything comes from the datastore.
    own_channel.stop()
    monkeypatch.setenv("METAFLOW_CONDA_CACHE_DIR", str(tmp_path / "node-cache"))
    node = _machine(tmp_path, "node", store_root)
    got = node.get(EnvID.of(env))
    prefix = node.create(got, tmp_path / "node-env")
    assert run_python(python_in(prefix), "import tinyutil, six; print(tinyutil.__version__)") == "2.0.0"


def test_corrupted_store_object_falls_back_to_origin_or_fails_clearly(
    engine_settings, own_channel, tmp_path, store_root, monkeypatch
):
    alice = _machine(tmp_path, "alice", store_root)
    env = alice.resolve(_spec(pypi=()))
    alice.publish(env)
    pkg = next(p for p in env.packages if p.name == "tinyutil")
    stored = store_root / "packages" / "conda" / pkg.sha256 / pkg.filename
    data = bytearray(stored.read_bytes())
    data[len(data) // 2] ^= 0xFF  # one flipped byte
    stored.write_bytes(bytes(data))

    node = _machine(tmp_path, "node", store_root)
    prefix = node.create(env, tmp_path / "env1")  # origin still up: fetched from there
    assert run_python(python_in(prefix), "import tinyutil; print(tinyutil.__version__)") == "2.0.0"
    assert PackageCache(tmp_path / "node" / "pkgs").has(pkg)

    own_channel.stop()
    node2 = _machine(tmp_path, "node2", store_root)
    with pytest.raises(EnvError, match="Could not download .*tinyutil"):
        node2.create(env, tmp_path / "env2")
    assert not (tmp_path / "env2").exists()
    assert not list((tmp_path / "node2" / "pkgs").rglob("tinyutil*"))


def test_aliases_immutable_and_mutable(engine_settings, tmp_path, store_root):
    alice = _machine(tmp_path, "alice", store_root)
    bob = _machine(tmp_path, "bob", store_root)
    env1 = alice.resolve(_spec(conda=("tinyutil=1.1",), pypi=()))
    env2 = alice.resolve(_spec(conda=("tinyutil=2.0",), pypi=()))

    alice.alias(env1, parse_alias("team/tiny:v1"))
    alice.alias(env1, parse_alias("team/tiny:v1"))  # same target again: fine
    with pytest.raises(SpecError, match="team/tiny:v1' is immutable and already names .*%s" % env1.full_id):
        alice.alias(env2, parse_alias("team/tiny:v1"))
    assert bob.lookup("team/tiny:v1").full_id == env1.full_id

    alice.alias(env1, parse_alias("team/tiny:stable"))
    assert bob.lookup("team/tiny:stable").full_id == env1.full_id
    alice.alias(env2, parse_alias("team/tiny:stable"))
    # Bob's index knows the old target; a mutable tag is re-read from the datastore anyway.
    assert bob.lookup("team/tiny:stable").full_id == env2.full_id

    alice.alias(env2, parse_alias("MyFlow/12/train", kind="pathspec"))
    assert bob.lookup("MyFlow/12/train/345").full_id == env2.full_id
    with pytest.raises(EnvError, match="Unknown environment 'team/nothere:latest'"):
        bob.lookup("team/nothere")


def test_one_type_and_one_wording_for_an_alias_conflict_and_a_corrupt_lock(engine_settings, tmp_path, store_root):
    alice = _machine(tmp_path, "alice", store_root)
    env1 = alice.resolve(_spec(conda=("tinyutil=1.1",), pypi=()))
    env2 = alice.resolve(_spec(conda=("tinyutil=2.0",), pypi=()))
    here_only = Environments(store=None, index=alice.index, cache=alice.cache)
    for envs in (alice, here_only):  # in the datastore, and in the local index alone
        alias = parse_alias("team/%s:v1" % ("store" if envs is alice else "local"))
        envs.alias(env1, alias)
        with pytest.raises(AliasConflict) as conflict:
            envs.alias(env2, alias)
        assert str(conflict.value) == (
            "Alias '%s' is immutable and already names environment %s:%s (%s); choose another name or a mutable "
            "tag (latest, candidate, stable)." % (alias, env1.req_id, env1.full_id, env1.arch))

    alice.publish(env1)
    env_id = EnvID.of(env1)
    alice.index.lock_path(env_id).write_text("{not json")
    (store_root / alice.store.env_key(env_id)).write_text("{not json")
    with pytest.raises(CorruptLock, match="The local lock .* cannot be used: Corrupted lock"):
        alice.index.load(env_id)
    with pytest.raises(CorruptLock, match="The lock .* in the local datastore at .* cannot be used: Corrupted lock"):
        alice.store.load_env(env_id)


@pytest.mark.parametrize("bad", ["../escape", "team/../../x", "Team/x", "x:../y", "a//b", "MyFlow/1/../x"])
def test_alias_names_cannot_escape(engine_settings, tmp_path, store_root, bad):
    alice = _machine(tmp_path, "alice", store_root)
    env = alice.resolve(_spec(pypi=()))
    with pytest.raises(SpecError, match="Invalid"):
        alice.alias(env, parse_alias(bad))
    assert not (tmp_path / "datastore" / "escape").exists()


def test_remote_latest_reuses_anothers_environment(engine_settings, own_channel, tmp_path, store_root, monkeypatch):
    monkeypatch.setenv("METAFLOW_USER", "alice")
    alice = _machine(tmp_path, "alice", store_root)
    env = alice.resolve(_spec(pypi=()))
    alice.publish(env)

    monkeypatch.setenv("METAFLOW_USER", "bob")
    own_channel.stop()  # bob cannot resolve (no origin, no cached repodata): only reuse can succeed
    monkeypatch.setenv("METAFLOW_CONDA_CACHE_DIR", str(tmp_path / "bob-cache"))
    monkeypatch.setenv("METAFLOW_CONDA_USE_REMOTE_LATEST", ":username:")
    with pytest.raises(EnvError):
        _machine(tmp_path, "bob1", store_root).resolve(_spec(pypi=()))
    for setting in (":any:", "carol,alice"):
        monkeypatch.setenv("METAFLOW_CONDA_USE_REMOTE_LATEST", setting)
        got = _machine(tmp_path, "bob-" + setting.strip(":").replace(",", "-"), store_root).resolve(_spec(pypi=()))
        assert got.full_id == env.full_id and got.resolved_by == "alice"


def test_local_index_survives_many_processes(tmp_path, engine_settings):
    """Eight processes add environments to one index at once: none is lost."""
    code = (
        "import sys\n"
        "from metaflow_extensions.envs.plugins.envs.store.local import LocalIndex\n"
        "from metaflow_extensions.envs.plugins.envs.lock import ResolvedEnvironment, LockedPackage\n"
        "from metaflow_extensions.envs.plugins.envs.spec.model import EnvSpec, CondaDep\n"
        "i = int(sys.argv[2])\n"
        "for j in range(5):\n"
        "    spec = EnvSpec(conda_deps=(CondaDep.parse('pkg%d_%d' % (i, j)),))\n"
        "    pkg = LockedPackage('conda', 'p', '1', 'b', 'p.conda', 'http://x/p.conda', '%064x' % (i * 10 + j))\n"
        "    LocalIndex(sys.argv[1]).add(ResolvedEnvironment(spec=spec, packages=(pkg,), python_version='3.11'))\n"
    )
    procs = [subprocess.Popen([sys.executable, "-c", code, str(tmp_path / "idx"), str(i)]) for i in range(8)]
    assert all(p.wait(timeout=120) == 0 for p in procs)
    known = LocalIndex(tmp_path / "idx").known()
    assert len({e.env_id.req_id for e in known if e.env_id.arch == "linux-64"}) == 40  # one per environment added


def test_preferred_format_transmutes_and_keeps_both(engine_settings, own_channel, tmp_path, store_root, monkeypatch):
    monkeypatch.setenv("METAFLOW_CONDA_PREFERRED_FORMAT", ".conda")
    alice = _machine(tmp_path, "alice", store_root)
    env = alice.resolve(_spec(conda=("tinyutil==1.0.0",), pypi=()))
    old = next(p for p in env.packages if p.name == "tinyutil")
    assert old.filename.endswith(".tar.bz2")  # only published in that format
    alice.publish(env)
    stored = EnvStore("local", str(store_root)).load_env(EnvID.of(env))
    tiny = next(p for p in stored.packages if p.name == "tinyutil")
    (alt,) = tiny.alternates
    assert alt.filename == old.filename.replace(".tar.bz2", ".conda")
    assert (store_root / "packages" / "conda" / old.sha256 / old.filename).is_file()
    assert (store_root / "packages" / "conda" / alt.sha256 / alt.filename).is_file()
    assert stored.full_id == env.full_id  # the environment is the same whichever archive

    own_channel.stop()
    node = _machine(tmp_path, "node", store_root)
    prefix = node.create(node.get(EnvID.of(env)), tmp_path / "env")
    meta = json.loads(next((prefix / "conda-meta").glob("tinyutil-1.0.0-*.json")).read_text())
    assert meta["fn"] == alt.filename
    assert run_python(python_in(prefix), "import tinyutil; print(tinyutil.__version__)") == "1.0.0"


def test_locks_planted_in_the_datastore_are_never_trusted(engine_settings, tmp_path, store_root, monkeypatch):
    """Someone with write access to the datastore plants an `../` folder and a lock edited to
    install something else: neither is used, the genuine lock still is."""
    alice, bob = _machine(tmp_path, "alice", store_root), _machine(tmp_path, "bob", store_root)
    env = alice.resolve(_spec())
    alice.publish(env)
    req_dir = store_root / "envs" / env.arch / env.req_id
    planted = req_dir / "not-a-full-id"
    planted.mkdir()
    (planted / "env.json").write_text(env.to_json())
    assert EnvStore("local", str(store_root)).full_ids(env.arch, env.req_id) == [env.full_id]

    monkeypatch.setenv("METAFLOW_CONDA_USE_REMOTE_LATEST", ":any:")
    assert bob.resolve(_spec()).full_id == env.full_id

    lock = req_dir / env.full_id / "env.json"
    data = json.loads(lock.read_text())
    data["packages"][0]["version"] = "9.9.9"
    lock.write_text(json.dumps(data))
    carol = _machine(tmp_path, "carol", store_root)
    with pytest.raises(EnvError, match="lock envs/linux-64/%s/%s/env.json in the local datastore .* does not "
                                       "match its content" % (env.req_id, env.full_id)):
        carol.get(EnvID.of(env))


def test_bootstrap_node_records_its_run_without_publishing_back(engine_settings, tmp_path, store_root):
    """The node keeps what it read in its own index and cache and writes the run's pathspec
    alias; the lock it read is never uploaded again, even when the datastore lost it since."""
    alice = _machine(tmp_path, "alice", store_root)
    env = alice.resolve(_spec(pypi=()))
    alice.publish(env)
    _machine(tmp_path, "node", store_root).get(EnvID.of(env))  # an earlier task on this node read it
    lock = store_root / "envs" / env.arch / env.req_id / env.full_id / "env.json"
    lock.unlink()  # removed from the datastore since (a gc elsewhere)
    tools = tmp_path / "tools"
    tools.mkdir()
    (tools / ".complete").write_text("")  # the node tools: this Python has them all
    (tmp_path / "work").mkdir()
    proc = subprocess.run(
        [sys.executable, "-m", "metaflow_extensions.envs.plugins.envs.integration.bootstrap",
         "--datastore", "local", "--prefix-dir", "metaflow_envs", "--step", "start", "--flow", "MyFlow",
         "--env-id", str(EnvID.of(env))],
        cwd=str(tmp_path / "work"), capture_output=True, text=True, timeout=300,
        env=dict(os.environ, METAFLOW_CONDA_CACHE_DIR=str(tmp_path / "node"), METAFLOW_CONDA_LOCALROOT=str(store_root),
                 METAFLOW_ENVS_TOOLS_DIR=str(tools), METAFLOW_RUN_ID="argo-1"))
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "work" / "metaflow_envs" / "start" / "bin" / "python").exists()
    assert read_alias(EnvStore("local", str(store_root)), pathspec_alias("MyFlow", "argo-1", "start")) == EnvID.of(env)
    assert not lock.exists()


def _tool_wheel(store_root: Path, packages_dir: str) -> dict:
    """A one-module 'node tool' wheel in the store, as publish_tools leaves the real ones."""
    import hashlib
    import io
    import zipfile

    data = io.BytesIO()
    with zipfile.ZipFile(data, "w") as wheel:
        wheel.writestr("mfenvs_marker_tool/__init__.py", "")
    sha, filename = hashlib.sha256(data.getvalue()).hexdigest(), "mfenvs_marker_tool-1.0-py3-none-any.whl"
    (store_root / packages_dir / "pypi" / sha).mkdir(parents=True)
    (store_root / packages_dir / "pypi" / sha / filename).write_bytes(data.getvalue())
    return {"name": "mfenvs-marker-tool", "sha256": sha, "filename": filename}


def test_bootstrap_reads_the_packages_folder_from_a_profile(engine_settings, tmp_path, store_root, monkeypatch):
    """A profile's METAFLOW_CONDA_PACKAGES_DIRNAME holds on the node too (the bootstrap read
    the process environment only, so it looked for its tools under `packages/`)."""
    monkeypatch.setenv("METAFLOW_CONDA_PACKAGES_DIRNAME", "pkgs")  # the launcher's side
    alice = _machine(tmp_path, "alice", store_root)
    env = alice.resolve(_spec(pypi=()))
    alice.publish(env)
    manifest = store_root / "tools" / "linux-64" / "manifest.json"
    manifest.parent.mkdir(parents=True)
    manifest.write_text(json.dumps({"requirements": [], "python": "3.9", "wheels": [_tool_wheel(store_root, "pkgs")]}))

    profile = tmp_path / "mfhome"
    profile.mkdir()
    (profile / "config.json").write_text(json.dumps({"METAFLOW_CONDA_PACKAGES_DIRNAME": "pkgs",
                                                     "METAFLOW_CONDA_LOCALROOT": str(store_root)}))
    node_env = {k: v for k, v in os.environ.items() if k != "METAFLOW_CONDA_PACKAGES_DIRNAME"}
    node_env.update(METAFLOW_HOME=str(profile), METAFLOW_CONDA_CACHE_DIR=str(tmp_path / "node"),
                    METAFLOW_ENVS_TOOLS_DIR=str(tmp_path / "tools"))
    (tmp_path / "work").mkdir()
    proc = subprocess.run(
        [sys.executable, "-m", "metaflow_extensions.envs.plugins.envs.integration.bootstrap",
         "--datastore", "local", "--prefix-dir", "metaflow_envs", "--step", "start", "--env-id", str(EnvID.of(env))],
        cwd=str(tmp_path / "work"), capture_output=True, text=True, timeout=300, env=node_env)
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "tools" / "mfenvs_marker_tool" / "__init__.py").is_file(), proc.stderr
    assert (tmp_path / "work" / "metaflow_envs" / "start" / "bin" / "python").exists()
