"""The local index of known environments: default full_id per req_id, every full_id resolved,
and aliases — one JSON file under the cache root, guarded by a file lock and replaced by
rename, so many processes can use it at once. Locks themselves are files beside it
(`locks/<arch>/<req_id>/<full_id>.json`), written once.
"""
import json
import os
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Optional

from filelock import FileLock, Timeout

from .. import settings
from ..errors import CorruptLock, EnvError, SpecError
from ..plumbing.cache import partial_file
from ..lock import ResolvedEnvironment
from ..ids import Alias, EnvID
from ..layout import CACHE_INDEX, CACHE_LOCKS

SCHEMA_VERSION = 1


@dataclass(frozen=True)
class KnownEnv:
    env_id: EnvID
    resolved_at: float
    is_default: bool


class LocalIndex:
    def __init__(self, root: Optional[Path] = None) -> None:
        self.root = Path(root) if root else settings.cache_root()
        self.root.mkdir(parents=True, exist_ok=True)
        self.path = self.root / CACHE_INDEX
        self._lock = FileLock(str(self.path) + ".lock", timeout=settings.value("CONDA_LOCK_TIMEOUT"))

    # ---- raw document -------------------------------------------------------------------
    def _read(self) -> Dict[str, Any]:
        try:
            data = json.loads(self.path.read_text())
        except FileNotFoundError:
            return {"schema_version": SCHEMA_VERSION, "envs": {}, "aliases": {}}
        except ValueError:
            raise EnvError("The local environment index %s is corrupted: delete it (locks and "
                           "packages stay cached) and retry." % self.path) from None
        if data.get("schema_version") != SCHEMA_VERSION:
            raise EnvError("The local environment index %s has an unknown schema version; delete it "
                           "and retry." % self.path)
        return data

    @contextmanager
    def _update(self) -> Iterator[Dict[str, Any]]:
        try:
            with self._lock:
                data = self._read()
                yield data
                tmp = partial_file(self.root)
                with open(tmp, "w") as out:
                    json.dump(data, out, indent=1, sort_keys=True)
                os.replace(tmp, self.path)
        except Timeout:
            raise EnvError("Timed out waiting for the lock on %s (METAFLOW_CONDA_LOCK_TIMEOUT)." % self.path) from None

    # ---- environments -------------------------------------------------------------------
    def lock_path(self, env_id: EnvID) -> Path:
        return self.root / CACHE_LOCKS / env_id.arch / env_id.req_id / ("%s.json" % env_id.full_id)

    def add(self, env: ResolvedEnvironment, make_default: bool = True, replace_lock: bool = False) -> EnvID:
        env_id = EnvID.of(env)
        path = self.lock_path(env_id)
        if replace_lock or not self._holds_valid_lock(env_id):
            tmp = partial_file(path.parent)
            with open(tmp, "w") as out:
                out.write(env.to_json())
            os.replace(tmp, path)
        with self._update() as data:
            entry = data["envs"].setdefault(env_id.arch, {}).setdefault(env_id.req_id, {"resolved": {}})
            entry["resolved"][env_id.full_id] = env.resolved_at
            if make_default or not entry.get("default"):
                entry["default"] = env_id.full_id
        return env_id

    def default(self, arch: str, req_id: str) -> Optional[EnvID]:
        entry = self._read()["envs"].get(arch, {}).get(req_id)
        if not entry or not entry.get("default"):
            return None
        return self._env_id(lambda: EnvID(req_id, entry["default"], arch))

    def known(self) -> List[KnownEnv]:
        """Every environment resolved here (or brought in), oldest first per request."""
        out = []
        for arch, reqs in sorted(self._read()["envs"].items()):
            for req_id, entry in sorted(reqs.items()):
                for full_id, resolved_at in sorted(entry.get("resolved", {}).items(), key=lambda kv: kv[1]):
                    env_id = self._env_id(lambda: EnvID(req_id, full_id, arch))
                    out.append(KnownEnv(env_id, resolved_at, entry.get("default") == full_id))
        return out

    def aliases(self, kind: Optional[str] = None) -> Dict[str, EnvID]:
        """Every alias known here (`team/env:v1`, `Flow/12/step`) and what it names; only
        those of `kind` ("generic" or "pathspec") when given."""
        return {key.split("/", 2)[2]: self._env_id(lambda: EnvID.from_dict(value))
                for key, value in sorted(self._read()["aliases"].items())
                if kind is None or key.split("/", 2)[1] == kind}

    def _holds_valid_lock(self, env_id: EnvID) -> bool:
        """A lock is written once; a corrupted one is replaced (that is how `--force` heals)."""
        try:
            return self.load(env_id) is not None
        except CorruptLock:
            return False

    def load(self, env_id: EnvID) -> Optional[ResolvedEnvironment]:
        path = self.lock_path(env_id)
        try:
            return ResolvedEnvironment.from_json(path.read_text(encoding="utf-8"), expected=env_id)
        except FileNotFoundError:
            return None
        except (OSError, UnicodeDecodeError, SpecError) as err:
            raise CorruptLock("The local lock %s cannot be used: %s" % (path, err)) from None

    # ---- what each flow step resolved to last (the preference of its next resolution) ----
    def set_step_env(self, flow: str, step: str, env_id: EnvID) -> None:
        with self._update() as data:
            data.setdefault("steps", {})[_step_key(flow, step, env_id.arch)] = env_id.to_dict()

    def step_env(self, flow: str, step: str, arch: str) -> Optional[EnvID]:
        """The environment step `step` of flow `flow` resolved to last here for `arch`."""
        found = self._read().get("steps", {}).get(_step_key(flow, step, arch))
        return self._env_id(lambda: EnvID.from_dict(found)) if found else None

    # ---- where a local run's Metaflow metadata lives ---------------------------------------
    def set_run_root(self, flow: str, run_id: str, root: str) -> None:
        """`root`: the `.metaflow` directory holding run `flow/run_id` (found from the flow's
        working directory), so commands run elsewhere can read the run."""
        with self._update() as data:
            data.setdefault("run_roots", {})["%s/%s" % (flow, run_id)] = root

    def run_root(self, flow: str, run_id: str) -> Optional[str]:
        found = self._read().get("run_roots", {}).get("%s/%s" % (flow, run_id))
        return found if isinstance(found, str) else None

    # ---- aliases ------------------------------------------------------------------------
    def set_alias(self, alias: Alias, env_id: EnvID) -> None:
        with self._update() as data:
            data["aliases"][alias.key] = env_id.to_dict()

    def alias(self, alias: Alias) -> Optional[EnvID]:
        found = self._read()["aliases"].get(alias.key)
        return self._env_id(lambda: EnvID.from_dict(found)) if found else None

    def _env_id(self, make: Callable[[], EnvID]) -> EnvID:
        """An id read from the index, which is data like any other: checked before use."""
        try:
            return make()
        except SpecError as err:
            raise EnvError("The local environment index %s is corrupted (%s): delete it (locks and "
                           "packages stay cached) and retry." % (self.path, err)) from None

    def aliases_of(self, env_id: EnvID) -> List[str]:
        return sorted(k.split("/", 2)[2] for k, v in self._read()["aliases"].items() if v == env_id.to_dict())


def _step_key(flow: str, step: str, arch: str) -> str:
    return "%s/%s/%s" % (flow, step, arch)
