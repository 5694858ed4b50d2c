"""The one orchestrator the Metaflow layer and the CLI call: reuse or resolve, publish,
name, look up and hydrate environments. Each step is a call into spec/resolve/store/hydrate;
nothing here knows about flows or decorators.
"""
import hashlib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import Any, Callable, List, Optional, Sequence

from . import settings
from .auth import Credentials
from .errors import EnvError, ResolveError, UnknownEnvironment, one_line
from .layout import CACHE_BUILD_ENVS
from .hydrate.install import create_prefix
from .hydrate.plan import HydrationPlan, plan as make_plan
from .hydrate.prefix import own_prefix, python_in
from .ids import ALIAS_GENERIC, Alias, EnvID, parse_alias
from .lock import LockedPackage, ResolvedEnvironment, current_user
from .plumbing.cache import PackageCache
from .plumbing.download import configured_local_sources, fetch_packages
from .plumbing.notices import notice
from .resolve.preferences import Preferences
from .resolve.resolver import credentials_for, resolve_environment, with_defaults
from .spec.model import EnvSpec, PypiDep, merge_sys_packages
from .store.aliases import alias_conflict, read_alias, tags_in_store, write_alias
from .store.datastore import EnvStore
from .store.formats import extra_archives, with_alternates
from .store.local import LocalIndex
from .verify import Verification, verify_environment


def build_prefix_python(conda_only: ResolvedEnvironment, credentials: Credentials, cache: PackageCache) -> str:
    """The resolver's `build_python`: what builds wheels from sources when Python comes from
    Conda, the interpreter of a prefix of the Conda part alone, made once per its full_id."""
    key = hashlib.sha1(conda_only.full_id.encode()).hexdigest()[:16]
    prefix = create_prefix(conda_only, settings.cache_dir(CACHE_BUILD_ENVS) / key, credentials, cache)
    return str(python_in(prefix))


def merged_spec(first: EnvSpec, additions: EnvSpec) -> EnvSpec:
    """`first` plus `additions`, which win for a package both name (and for Python)."""
    conda = {d.name: d for d in first.conda_deps}
    conda.update({d.name: d for d in additions.conda_deps})
    pypi = {d.name or d.requirement: d for d in first.pypi_deps}
    pypi.update({d.name or d.requirement: d for d in additions.pypi_deps})
    return replace(
        first, conda_deps=tuple(conda.values()), pypi_deps=tuple(pypi.values()),
        channels=tuple(dict.fromkeys(additions.extra_channels + additions.channels + first.channels)),
        pypi_sources=first.pypi_sources.merged(additions.pypi_sources),
        python=additions.python or first.python, platform=additions.platform,
        pypi_constraints=tuple(dict.fromkeys(first.pypi_constraints + additions.pypi_constraints)),
        sys_packages=merge_sys_packages(first.sys_packages, additions.sys_packages),
    )


class Environments:
    def __init__(
        self,
        store: Optional[EnvStore] = None,
        index: Optional[LocalIndex] = None,
        cache: Optional[PackageCache] = None,
    ) -> None:
        self.store = store
        self.index = index or LocalIndex()
        self.cache = cache or PackageCache()

    @classmethod
    def for_datastore(cls, datastore_type: Optional[str], local_only: bool = False) -> "Environments":
        """As a flow uses them: published to the datastore unless it is one that
        METAFLOW_CONDA_IGNORE_CACHING_DATASTORES names (by default the local one), or
        `local_only`: then the local index and cache are all there is."""
        kind = datastore_type or settings.get("DEFAULT_DATASTORE") or "local"
        ignored = kind in (settings.value("CONDA_IGNORE_CACHING_DATASTORES") or ())
        return cls(store=None if local_only or ignored else EnvStore(kind))

    # ---- resolve ------------------------------------------------------------------------
    def resolve(self, spec: EnvSpec, force: bool = False, local_only: bool = False,
                dry_run: bool = False, set_default: bool = True,
                prefer: Optional[Preferences] = None,
                verify: Optional[Callable[[Verification], None]] = None) -> ResolvedEnvironment:
        """The default environment for `spec`, resolving only when none is known (or `force`,
        or `prefer` lifts versions on purpose). A resolution keeps the versions of `prefer`
        (a previous lock's) that the request still allows. Unless a dry run, a new
        resolution's packages are all fetched into the local cache (with the request's
        credentials) before it is recorded: later steps, processes and nodes then need no
        credentials for them. With `verify`, the environment returned has been verified
        (verify/) and the report handed to `verify`; a new one before it is recorded, so one
        that does not import is never recorded (a ResolveError says why)."""
        spec = with_defaults(spec)
        if not force and not (prefer is not None and prefer.lifts):
            known = self.index.default(spec.platform, spec.req_id)
            env = self.index.load(known) if known else None
            remote = env is None and not local_only and self.store is not None
            if remote:
                env = self._remote_latest(spec)
            if env is not None:
                if verify is not None:
                    verify(verify_environment(env, credentials_for(spec), self.cache, self.store))
                if remote and not dry_run:
                    self.index.add(env, make_default=set_default)
                return env
        credentials = credentials_for(spec)
        env = resolve_environment(spec, credentials, self.cache, build_python=build_prefix_python, prefer=prefer)
        if not dry_run:
            # Now, with this request's credentials: later steps (create, other processes, nodes) need none.
            fetch_packages(env.packages, self.cache, credentials,
                           local_sources=configured_local_sources(env.local_source_urls()))
        if verify is not None:  # (a dry run's packages are fetched into the cache for it)
            verify(verify_environment(env, credentials, self.cache, self.store))
        if not dry_run:
            self.index.add(env, make_default=set_default)
        return env

    def _remote_latest(self, spec: EnvSpec) -> Optional[ResolvedEnvironment]:
        """METAFLOW_CONDA_USE_REMOTE_LATEST: reuse the newest environment for this request
        resolved by the given users (`:username:` = me, `:any:` = anyone)."""
        setting = settings.value("CONDA_USE_REMOTE_LATEST")
        if setting == ":none:":
            return None
        users = None if setting == ":any:" else {
            current_user() if u.strip() == ":username:" else u.strip() for u in setting.split(",") if u.strip()
        }
        full_ids = self.store.full_ids(spec.platform, spec.req_id)
        if not full_ids:
            return None
        with ThreadPoolExecutor(max_workers=min(8, len(full_ids))) as pool:
            envs = [e for e in pool.map(lambda f: self.store.load_env(EnvID(spec.req_id, f, spec.platform)), full_ids) if e]
        candidates = [e for e in envs if users is None or e.resolved_by in users]
        return max(candidates, key=lambda e: e.resolved_at) if candidates else None

    def extend(self, base: ResolvedEnvironment, additions: EnvSpec, prefer: Optional[Preferences] = None,
               **options: Any) -> ResolvedEnvironment:
        """A new environment: what `base` was asked for, kept at the versions `base` locked
        (and on the channels they came from) where the solver allows, plus `additions`,
        which win for a package both name. `prefer` (default: `base`'s packages) keeps
        every other version it can, and names what may move. `options` are those of `resolve`."""
        prefer = prefer or Preferences.of(base)
        locked = {p.name: p for p in base.packages if prefer.keeps(p.name)}

        def requested(pinned: bool) -> EnvSpec:
            conda = []
            for dep in base.spec.conda_deps:
                pkg = locked.get(dep.name)
                if pinned and pkg is not None and pkg.conda is not None:
                    dep = replace(dep, version="==" + pkg.version, channel=pkg.conda.channel or dep.channel)
                conda.append(dep)
            # a hashed requirement is pinned already, and its hashes must stay
            pypi = [PypiDep.parse("%s==%s" % (d.name, locked[d.name].version))
                    if pinned and d.name in locked and not d.hashes else d for d in base.spec.pypi_deps]
            return replace(base.spec, conda_deps=tuple(conda), pypi_deps=tuple(pypi),
                           python=("==" + base.python_version) if pinned else base.spec.python)

        try:
            return self.resolve(merged_spec(requested(pinned=True), additions), prefer=prefer, **options)
        except ResolveError as err:
            notice("Keeping the versions of %s:%s does not resolve (%s): resolving again without them."
                   % (base.req_id, base.full_id, one_line(err.message)))
            return self.resolve(merged_spec(requested(pinned=False), additions), prefer=prefer, **options)

    # ---- publish ------------------------------------------------------------------------
    def publish(self, env: ResolvedEnvironment) -> None:
        """Upload what the store lacks, then the lock: a lock is never visible before all its
        packages are. Publishing twice, or from two machines at once, is harmless."""
        store = self._require_store()
        if store.has_env(EnvID.of(env)):
            return
        credentials = credentials_for(env.spec)
        fmt = settings.preferred_format()
        if fmt:
            fetch_packages(env.packages, self.cache, credentials)
            env = with_alternates(env, self.cache, fmt)
            self.index.add(env, make_default=False, replace_lock=True)  # the lock now lists them
        self.upload_missing(list(env.packages) + extra_archives(env), credentials)
        store.save_env(env)

    def upload_missing(self, packages: Sequence[LockedPackage], credentials: Credentials) -> None:
        """Upload the packages the store lacks, fetched into the local cache first."""
        store = self._require_store()
        present = store.present_packages(packages)
        missing = [p for p in packages if store.package_key(p) not in present]
        fetch_packages(missing, self.cache, credentials)
        store.upload_packages(missing, self.cache)

    # ---- names --------------------------------------------------------------------------
    def alias(self, env: ResolvedEnvironment, alias: Alias) -> None:
        """Point `alias` at `env`, publishing `env` first: a name in the datastore never
        points at a lock it lacks."""
        if self.store is not None:
            self.publish(env)
        self.record_alias(env, alias)

    def record_alias(self, env: ResolvedEnvironment, alias: Alias) -> None:
        """Point `alias` at `env` as it is: for an environment read from the datastore (a
        node's), which is never published back from there."""
        env_id = EnvID.of(env)
        if self.store is not None:
            write_alias(self.store, alias, env_id)
        else:
            current = self.index.alias(alias)
            if current is not None and current != env_id and not alias.is_mutable:
                raise alias_conflict(alias, current)
        self.index.set_alias(alias, env_id)

    def lookup(self, name: str, arch: Optional[str] = None, kind: Optional[str] = None) -> ResolvedEnvironment:
        """The environment an alias or pathspec names. Mutable tags are always re-read from
        the datastore; other aliases are trusted from the local index once known."""
        alias = parse_alias(name, kind)
        env_id = None if alias.is_mutable else self.index.alias(alias)
        if env_id is None and self.store is not None:
            env_id = read_alias(self.store, alias)
            if env_id is not None:
                self.index.set_alias(alias, env_id)
        if env_id is None and alias.is_mutable:
            env_id = self.index.alias(alias)  # no datastore: the local index is all we have
        if env_id is None:
            where = "" if self.store is None else " locally or in the datastore at %s" % self.store.root
            tags = self.tags(alias.name) if alias.kind == ALIAS_GENERIC else []
            if tags:
                raise UnknownEnvironment("Unknown environment '%s': no tag '%s' of %s%s; tags: %s." % (
                    alias, alias.tag, alias.name, where, ", ".join(tags)))
            raise UnknownEnvironment("Unknown environment '%s': no such alias%s." % (alias, where))
        if arch and env_id.arch != arch:
            raise EnvError("Environment '%s' is for %s, not %s." % (alias, env_id.arch, arch))
        return self.get(env_id)

    def tags(self, name: str) -> List[str]:
        """The tags `name` has here and in the datastore (said when a tag is not found)."""
        found = {n.partition(":")[2] for n in self.index.aliases(ALIAS_GENERIC) if n.partition(":")[0] == name}
        if self.store is not None:
            try:
                found.update(tags_in_store(self.store, name))
            except EnvError:  # only to enrich an error: that error is the one to show
                pass
        return sorted(found)

    def get(self, env_id: EnvID) -> ResolvedEnvironment:
        env = self.index.load(env_id)
        if env is None and self.store is not None:
            env = self.store.load_env(env_id)
            if env is not None:
                self.index.add(env, make_default=False)
        if env is None:
            raise UnknownEnvironment("Unknown environment %s:%s for %s." % (env_id.req_id, env_id.full_id, env_id.arch))
        return env

    # ---- hydrate ------------------------------------------------------------------------
    def plan(self, env: ResolvedEnvironment, prefix: Optional[Path] = None, force: bool = False) -> HydrationPlan:
        """What `create` would do now (its own prefix when `prefix` is None); changes nothing."""
        return make_plan(env, Path(prefix) if prefix else own_prefix(env), self.cache, self.store, force)

    def create(self, env: ResolvedEnvironment, prefix: Optional[Path] = None, force: bool = False,
               planned: Optional[HydrationPlan] = None) -> Path:
        """Create `env` (at its own prefix when `prefix` is None), executing `planned` if given."""
        prefix = Path(prefix) if prefix else own_prefix(env)
        return create_prefix(env, prefix, credentials_for(env.spec), self.cache, force=force, store=self.store,
                             planned=planned)

    def _require_store(self) -> EnvStore:
        if self.store is None:
            raise EnvError("No datastore configured for environments.")
        return self.store
