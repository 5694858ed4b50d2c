"""`metaflow environment import-reference`: the reference extension's named environments,
taken as they were resolved (store/reference_import.py), published to our store and named
by the same aliases, so `@named_env(name=...)` runs here unchanged."""
from typing import List, Optional, Sequence

from ..environments import Environments
from ..ids import Alias
from ..plumbing.download import configured_local_sources
from ..store.datastore import EnvStore
from ..store.reference_import import ImportedEnv, read_reference_envs
from .progress import Progress


def import_reference(envs: Environments, datastore_type: str, arch: str, aliases: Sequence[Alias],
                     root: Optional[str], envs_dir: Optional[str], progress: Progress) -> List[ImportedEnv]:
    """Every environment is read and verified first, then published (packages, then the
    lock), then named: an alias never names an environment whose packages are not all here."""
    source = EnvStore(datastore_type, root=root)
    progress.note("Reading the reference's environments in the %s datastore at %s ..." % (datastore_type, source.root))
    local_sources = [str(path) for path in configured_local_sources()]
    found = read_reference_envs(source, envs.cache, arch, aliases, envs_dir, local_sources)
    for alias in found.skipped:
        progress.note("Skipped %s: it names no environment for %s in the reference's store." % (alias, arch))
    imported = found.imported
    done = set()
    for item in imported:
        if item.reference_id in done:
            continue
        done.add(item.reference_id)
        if envs.store is not None:
            envs.publish(item.env)
        envs.index.add(item.env, make_default=False)
    for item in imported:
        envs.record_alias(item.env, item.alias)
    return imported
