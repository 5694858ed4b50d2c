"""Named environments: `name[:tag]` aliases and `Flow/run/step[/task]` pathspecs.

Tags `latest`, `candidate` and `stable` are mutable and always re-read from the datastore;
every other alias is immutable once written. Names are validated so no alias can escape its
folder in the store.
"""
import json
import re
from dataclasses import dataclass
from typing import Optional

from ..errors import SpecError
from ..errors import StoreError
from ..ids import EnvID
from .datastore import EnvStore

MUTABLE_TAGS = frozenset({"latest", "candidate", "stable"})
DEFAULT_TAG = "latest"

_NAME_PART = re.compile(r"^[a-z0-9_-]+$")
_TAG = re.compile(r"^[a-z0-9_.-]+$")
_FLOW = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_PATHSPEC_PART = re.compile(r"^[A-Za-z0-9_.-]+$")


@dataclass(frozen=True)
class Alias:
    """A generic alias (`team/env:stable`) or a pathspec (`MyFlow/42/train`)."""

    kind: str  # "generic" | "pathspec"
    name: str  # for a pathspec: Flow/run/step (the task part is dropped: a step has one env)
    tag: str = ""

    @property
    def is_mutable(self) -> bool:
        return self.kind == "generic" and self.tag in MUTABLE_TAGS

    @property
    def key(self) -> str:
        if self.kind == "pathspec":
            return "aliases/pathspec/%s" % self.name
        return "aliases/generic/%s:%s" % (self.name, self.tag)

    def __str__(self) -> str:
        return self.name if self.kind == "pathspec" else "%s:%s" % (self.name, self.tag)


def parse_alias(text: str, kind: Optional[str] = None) -> Alias:
    """Parse and validate. `kind` forces "pathspec" or "generic"; otherwise 3-4 parts with a
    Flow name first and no tag are a pathspec when the flow name has capitals or the run id is
    numeric (generic names are lowercase only)."""
    raw = (text or "").strip()
    if not raw:
        raise SpecError("Empty environment name: use 'name[:tag]' or 'Flow/run/step'.")
    parts = raw.split("/")
    looks_like_pathspec = (
        ":" not in raw and len(parts) in (3, 4) and bool(_FLOW.match(parts[0]))
        and (not _NAME_PART.match(parts[0]) or parts[1].isdigit())
    )
    if kind == "pathspec" or (kind is None and looks_like_pathspec):
        if len(parts) not in (3, 4) or not _FLOW.match(parts[0]):
            raise SpecError("Invalid pathspec '%s': use 'Flow/run_id/step' or 'Flow/run_id/step/task_id'." % raw)
        return _pathspec(raw, parts)
    name, _, tag = raw.partition(":")
    tag = tag or DEFAULT_TAG
    bad = [p for p in name.split("/") if not _NAME_PART.match(p)]
    if bad or not _TAG.match(tag) or tag in (".", ".."):
        raise SpecError(
            "Invalid environment name '%s': use 'name[:tag]' where name is '/'-separated parts of "
            "lowercase letters, digits, '_' and '-', and tag uses lowercase letters, digits, "
            "'_', '.' and '-' (e.g. 'team/env:stable')." % raw
        )
    return Alias("generic", name, tag)


def _pathspec(raw: str, parts) -> Alias:
    if any(not _PATHSPEC_PART.match(p) or p in (".", "..") for p in parts[1:]):
        raise SpecError("Invalid pathspec '%s': use 'Flow/run_id/step' or 'Flow/run_id/step/task_id'." % raw)
    return Alias("pathspec", "/".join(parts[:3]))


def pathspec_alias(flow: str, run_id: str, step: str) -> Alias:
    return parse_alias("%s/%s/%s" % (flow, run_id, step), kind="pathspec")


def read_alias(store: EnvStore, alias: Alias) -> Optional[EnvID]:
    text = store.read_text(alias.key)
    if text is None:
        return None
    try:
        return EnvID.from_dict(json.loads(text))
    except (ValueError, SpecError):
        raise StoreError("Alias '%s' in the datastore is corrupted (%s): write it again with "
                         "`metaflow environment alias`." % (alias, alias.key)) from None


def write_alias(store: EnvStore, alias: Alias, env_id: EnvID) -> None:
    """Point `alias` at `env_id`. An immutable alias already naming another environment is
    an error; after writing, the alias is read back so a concurrent writer is detected."""
    if not alias.is_mutable:
        current = read_alias(store, alias)
        if current is not None and current != env_id:
            raise SpecError(
                "Alias '%s' is immutable and already names environment %s:%s (%s); choose another "
                "name or a mutable tag (latest, candidate, stable)."
                % (alias, current.req_id, current.full_id, current.arch)
            )
        if current == env_id:
            return
    store.write_text(alias.key, json.dumps(env_id.to_dict(), sort_keys=True), overwrite=True)
    written = read_alias(store, alias)
    if written != env_id and not alias.is_mutable:
        raise SpecError(
            "Alias '%s' was written concurrently by another process and now names %s:%s; "
            "nothing was changed by this one." % (alias, written.req_id, written.full_id)
        )
