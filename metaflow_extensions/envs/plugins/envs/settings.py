"""Settings the engine reads, each a `METAFLOW_CONDA_*` value.

A value set in the process environment wins (read at call time, so tests and subprocesses can
change it); otherwise Metaflow's configuration (profile JSON, extension defaults in
`config/mfextinit_envs.py`) decides. Every setting is documented in that config module.
"""
import math
import os
from pathlib import Path
from typing import Any, List, Optional, Sequence, Tuple


def get(name: str) -> Optional[str]:
    """`name` without the METAFLOW_ prefix, e.g. `CONDA_CHANNELS`."""
    value = raw(name)
    return None if value is None else str(value)


def raw(name: str) -> Any:
    """`name` as set: the environment's text, else the configured value as Metaflow holds it
    (a JSON object in a profile stays a dict, where `get` would turn it into Python's repr)."""
    value = os.environ.get("METAFLOW_" + name)
    if value is not None:
        return value
    from metaflow import metaflow_config  # defaults live in config/mfextinit_envs.py

    return getattr(metaflow_config, name, None)


def number(name: str, default: float) -> float:
    """A numeric setting (seconds, attempts); a value that is not a number stops with one message."""
    raw = (get(name) or "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = float("nan")
    if not math.isfinite(value):  # 'inf' and 'nan' parse, but no timeout or count is either
        from .errors import SpecError

        raise SpecError("METAFLOW_%s must be a number, not '%s'." % (name, raw))
    return value


def pypi_index_max_age() -> int:
    """Seconds uv may reuse a cached PyPI index page without asking the index again."""
    return max(0, int(number("CONDA_PYPI_INDEX_MAX_AGE", 600)))


def names(name: str) -> Tuple[str, ...]:
    """A comma-separated setting's items (empty: none)."""
    return tuple(item.strip() for item in (get(name) or "").split(",") if item.strip())


def default_channels() -> List[str]:
    return list(names("CONDA_CHANNELS"))


def channel_alias() -> str:
    alias = get("CONDA_CHANNEL_ALIAS") or "https://conda.anaconda.org/"
    return alias if alias.endswith("/") else alias + "/"


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


PYTHON_SOURCES = ("conda", "system")


def python_source() -> str:
    """Where an environment's Python comes from: `conda` or `system` (checked: a typo must
    not silently mean `conda`)."""
    value = (get("CONDA_PYTHON_SOURCE") or "conda").strip().lower()
    if value not in PYTHON_SOURCES:
        from .errors import SpecError

        raise SpecError("METAFLOW_CONDA_PYTHON_SOURCE must be %s, not '%s'."
                        % (" or ".join(PYTHON_SOURCES), get("CONDA_PYTHON_SOURCE")))
    return value


def cache_root() -> Path:
    """Local caches (packages, repodata, uv, rattler) live here; one filesystem, so
    prefixes can hard-link from them."""
    # The process environment only (see config/mfextinit_envs.py): a path of this machine.
    explicit = os.environ.get("METAFLOW_CONDA_CACHE_DIR")
    if explicit:
        return Path(explicit).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "metaflow-envs"


def cache_dir(*parts: str) -> Path:
    path = cache_root().joinpath(*parts)
    path.mkdir(parents=True, exist_ok=True)
    return path


def preferred_format() -> Optional[str]:
    """METAFLOW_CONDA_PREFERRED_FORMAT as `.conda` / `.tar.bz2`, or None."""
    value = (get("CONDA_PREFERRED_FORMAT") or "").strip()
    if not value or value.lower() == "none":
        return None
    value = value if value.startswith(".") else "." + value
    if value not in (".conda", ".tar.bz2"):
        from .errors import SpecError

        raise SpecError("METAFLOW_CONDA_PREFERRED_FORMAT must be '.conda' or '.tar.bz2', not '%s'." % value)
    return value


_TRUE, _FALSE = ("1", "true", "yes", "on"), ("", "0", "false", "no", "off", "none")


def verify() -> bool:
    """METAFLOW_CONDA_VERIFY: whether flows verify the environments they resolve (checked:
    a typo must not silently mean off)."""
    value = (get("CONDA_VERIFY") or "").strip().lower()
    if value not in _TRUE + _FALSE:
        from .errors import SpecError

        raise SpecError("METAFLOW_CONDA_VERIFY must be 1 (verify) or 0 (do not), not '%s'." % get("CONDA_VERIFY"))
    return value in _TRUE
