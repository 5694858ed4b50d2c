"""Settings the engine reads: each `METAFLOW_CONDA_*` value through the one table
(settings_table.py: default, what is allowed, where it is read from), checked when read.

A value set in the process environment wins (read at call time, so tests and subprocesses can
change it); otherwise Metaflow's configuration decides, then the table's default.
"""
import json
import os
from pathlib import Path
from typing import Any, List, Optional, Sequence, Tuple

from . import settings_table
from .settings_table import BY_NAME


def value(name: str) -> Any:
    """Setting `name` (without the METAFLOW_ prefix, e.g. `CONDA_LOCK_TIMEOUT`), parsed as its
    table entry says: a number, a bool, a tuple of items, a JSON value, a word; None if unset.
    A value that is not allowed stops with one message naming the setting (SpecError)."""
    return settings_table.read(name)


def get(name: str) -> Optional[str]:
    """A setting as text: ours checked through the table; Metaflow's own (DEFAULT_DATASTORE,
    KUBERNETES_CONDA_ARCH...) as Metaflow's configuration holds it."""
    if name in BY_NAME:
        raw = settings_table.lookup(name)
        settings_table.parse(name, raw)  # checked
        return None if raw is None else raw.strip() if isinstance(raw, str) else json.dumps(raw)
    found = os.environ.get("METAFLOW_" + name)
    if found is not None:
        return found
    from metaflow import metaflow_config

    found = getattr(metaflow_config, name, None)
    return None if found is None else str(found)


def pypi_index_max_age() -> int:
    """Seconds uv may reuse a cached PyPI index page without asking the index again."""
    return value("CONDA_PYPI_INDEX_MAX_AGE")


def names(name: str) -> Tuple[str, ...]:
    """A comma-separated setting's items (empty: none)."""
    return value(name) or ()


def default_channels() -> List[str]:
    return list(names("CONDA_CHANNELS"))


def channel_alias() -> str:
    return value("CONDA_CHANNEL_ALIAS")


def channel_urls(channels: Sequence[str]) -> List[str]:
    """Full URLs of channels given by name (through the channel alias), URL or path."""
    alias = channel_alias()
    out = []
    for channel in channels:
        if "://" in channel:
            out.append(channel.rstrip("/"))
        elif channel.startswith("/"):
            out.append("file://" + channel.rstrip("/"))
        else:
            out.append(alias + channel.strip("/"))
    return out


def python_source() -> str:
    """Where an environment's Python comes from: `conda` or `system` (checked: a typo must
    not silently mean `conda`)."""
    return value("CONDA_PYTHON_SOURCE")


def cache_root() -> Path:
    """Local caches (packages, repodata, uv, rattler) live here; one filesystem, so
    prefixes can hard-link from them."""
    explicit = value("CONDA_CACHE_DIR")  # the process environment only (see the table)
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "metaflow-envs"


def cache_dir(*parts: str) -> Path:
    path = cache_root().joinpath(*parts)
    path.mkdir(parents=True, exist_ok=True)
    return path


def preferred_format() -> Optional[str]:
    """METAFLOW_CONDA_PREFERRED_FORMAT as `.conda` / `.tar.bz2`, or None."""
    return value("CONDA_PREFERRED_FORMAT")


def verify() -> bool:
    """METAFLOW_CONDA_VERIFY: whether flows verify the environments they resolve (checked:
    a typo must not silently mean off)."""
    return value("CONDA_VERIFY")
