"""Aliases in a datastore: reading and writing what `name[:tag]` or `Flow/run/step` names
(the grammar of names lives in ids.py)."""
import json
from typing import List, Optional

from ..errors import AliasConflict, SpecError, StoreError
from ..ids import ALIAS_GENERIC, Alias, EnvID, is_tag
from ..layout import alias_key
from .datastore import EnvStore


def read_alias(store: EnvStore, alias: Alias) -> Optional[EnvID]:
    text = store.read_text(alias.key)
    if text is None:
        return None
    try:
        return EnvID.from_dict(json.loads(text))
    except (ValueError, SpecError):
        raise StoreError("Alias '%s' in the datastore is corrupted (%s): write it again with "
                         "`metaflow environment alias`." % (alias, alias.key)) from None


def alias_conflict(alias: Alias, current: EnvID) -> AliasConflict:
    """The one wording for an immutable alias that already names another environment, in the
    datastore or in the local index."""
    return AliasConflict("Alias '%s' is immutable and already names environment %s:%s (%s); choose another "
                         "name or a mutable tag (latest, candidate, stable)."
                         % (alias, current.req_id, current.full_id, current.arch))


def write_alias(store: EnvStore, alias: Alias, env_id: EnvID) -> None:
    """Point `alias` at `env_id`. An immutable alias already naming another environment is
    an error; after writing, the alias is read back so a concurrent writer is detected."""
    if not alias.is_mutable:
        current = read_alias(store, alias)
        if current is not None and current != env_id:
            raise alias_conflict(alias, current)
        if current == env_id:
            return
    store.write_text(alias.key, json.dumps(env_id.to_dict(), sort_keys=True), overwrite=True)
    written = read_alias(store, alias)
    if written != env_id and not alias.is_mutable:
        raise AliasConflict(
            "Alias '%s' was written concurrently by another process and now names %s:%s; "
            "nothing was changed by this one." % (alias, written.req_id, written.full_id)
        )


def tags_in_store(store: EnvStore, name: str) -> List[str]:
    """The tags `name` has in the datastore (one listing; names read back are checked)."""
    folder, _, last = alias_key(ALIAS_GENERIC, name).rpartition("/")
    found = store.file_names(folder)
    return [f.split(":", 1)[1] for f in found if f.startswith(last + ":") and is_tag(f.split(":", 1)[1])]
