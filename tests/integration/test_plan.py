"""The hydration plan is what a creation does: each package from the source the plan names."""
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from filelock import FileLock

from metaflow_extensions.envs.plugins.envs.environments import Environments
from metaflow_extensions.envs.plugins.envs.errors import HydrateError
from metaflow_extensions.envs.plugins.envs.plumbing.cache import PackageCache
from metaflow_extensions.envs.plugins.envs.hydrate.install import create_prefix
from metaflow_extensions.envs.plugins.envs.hydrate.prefix import MARKER, python_in
from metaflow_extensions.envs.plugins.envs.kinds import PlanSource, PrefixAction
from metaflow_extensions.envs.plugins.envs.resolve.resolver import resolve_environment
from metaflow_extensions.envs.plugins.envs.spec.model import CondaDep, EnvSpec, PypiDep
from metaflow_extensions.envs.plugins.envs.store.datastore import EnvStore
from metaflow_extensions.envs.plugins.envs.store.local import LocalIndex

from .conftest_helpers import run_python


def _machine(root: Path, store_root: Path) -> Environments:
    return Environments(store=EnvStore("local", str(store_root)), index=LocalIndex(root),
                        cache=PackageCache(root / "pkgs"))


def _downloaded(server, mark):
    return sorted(r.path.rsplit("/", 1)[-1] for r in server.requests_since(mark) if r.method == "GET")


def test_create_takes_each_package_from_where_the_plan_says(engine_settings, channel_server, tmp_path):
    store_root = tmp_path / "datastore"
    alice = _machine(tmp_path / "alice", store_root)
    env = alice.resolve(EnvSpec(conda_deps=(CondaDep.parse("tinyutil"), CondaDep.parse("chaina"))))
    alice.publish(env)
    by_name = {p.name: p for p in env.packages}
    kept, dropped = by_name["tinyutil"], by_name["chainb"]
    # A node: tinyutil already in its cache; chainb no longer in the datastore.
    node = _machine(tmp_path / "node", store_root)
    shutil.copytree(alice.cache.path_for(kept).parent, node.cache.path_for(kept).parent)
    shutil.rmtree(store_root / "packages" / "conda" / dropped.sha256)

    prefix = tmp_path / "env"
    planned = node.plan(env, prefix)
    assert planned.action == PrefixAction.CREATE and planned.why == "it does not exist"
    sources = {s.locked.name: (s.source, s.reason) for s in planned.steps}
    assert sources["tinyutil"] == (PlanSource.CACHE, "in the local cache")
    assert sources["chainb"] == (PlanSource.ORIGIN, "not in the datastore")
    from_store = sorted(s.archive.filename for s in planned.steps if s.source == PlanSource.STORE)
    assert len(from_store) == len(env.packages) - 2
    # Planning changed nothing: no prefix, nothing downloaded.
    assert not prefix.exists() and [p.name for p in node.cache.root.glob("*/*/*")] == [kept.filename]

    mark = channel_server.mark()
    node.create(env, prefix, planned=planned)
    assert _downloaded(channel_server, mark) == [dropped.filename]  # only what the plan said: the origin's
    assert all(node.cache.has(s.archive) for s in planned.steps)  # the store's are in the cache now
    assert run_python(python_in(prefix), "import tinyutil; print(tinyutil.__version__)") == "2.0.0"

    assert node.plan(env, prefix).action == PrefixAction.NOTHING and node.plan(env, prefix).steps == ()
    forced = node.plan(env, prefix, force=True)
    assert (forced.action, forced.why) == (PrefixAction.RECREATE, "--force")
    assert {s.source for s in forced.steps} == {PlanSource.CACHE}
    (prefix / MARKER).unlink()
    assert node.plan(env, prefix).why == "an earlier creation did not finish"


_WARM_CREATE = """
import sys
from pathlib import Path
from metaflow_extensions.envs.plugins.envs.hydrate.install import create_prefix
from metaflow_extensions.envs.plugins.envs.lock import ResolvedEnvironment
create_prefix(ResolvedEnvironment.from_json(Path(sys.argv[1]).read_text()), Path(sys.argv[2]))
print(sorted(m for m in ("metaflow", "rattler") if m in sys.modules))
"""


def test_a_warm_create_loads_neither_metaflow_nor_rattler(engine_settings, monkeypatch, tmp_path):
    """Most of a warm create's own time was importing Metaflow (to read settings) and rattler
    (to compare a Python version): a PyPI-only environment on the system Python needs neither."""
    monkeypatch.setenv("METAFLOW_CONDA_PYTHON_SOURCE", "system")
    mm = "%s.%s" % sys.version_info[:2]
    env = resolve_environment(EnvSpec(pypi_deps=(PypiDep.parse("six==1.16.0"),), python=mm + ".*"))
    lock = tmp_path / "lock.json"
    lock.write_text(env.to_json())
    out = subprocess.run([sys.executable, "-c", _WARM_CREATE, str(lock), str(tmp_path / "env")],
                         capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
    assert run_python(python_in(tmp_path / "env"), "import six; print(six.__version__)") == "1.16.0"


def test_a_creation_waits_for_another_one_only_as_long_as_the_setting_says(engine_settings, monkeypatch, tmp_path):
    monkeypatch.setenv("METAFLOW_CONDA_LOCK_TIMEOUT", "0.3")
    env = resolve_environment(EnvSpec(conda_deps=(CondaDep.parse("tinyutil"),)))
    prefix = tmp_path / "env"
    with FileLock(str(prefix) + ".lock"):  # another process creating it
        with pytest.raises(HydrateError, match="Timed out waiting for another process creating %s" % prefix):
            create_prefix(env, prefix)
    assert not prefix.exists()
    create_prefix(env, prefix)
    assert (prefix / MARKER).is_file()
