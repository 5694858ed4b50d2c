"""pip's configuration as `pip install` reads it: its files and PIP_* variables, merged as pip
merges them. Only read here; what each setting means for a request is resolve/pip_config.py's
job, and auth.py takes the credentials written into its index URLs."""
import configparser
import os
import sys
from dataclasses import dataclass
from typing import Dict, List, Optional, Tuple


@dataclass(frozen=True)
class PipSetting:
    """One setting of pip's configuration (`key` normalised as pip does: `extra-index-url`)."""

    key: str
    value: str
    where: str  # e.g. "PIP_INDEX_URL", "index-url in /etc/pip.conf [global]"
    section: Optional[str] = None  # None for a variable

    @property
    def items(self) -> Tuple[str, ...]:
        """The value's whitespace-separated items (URLs, paths...), as pip splits list settings."""
        return tuple(self.value.split())


# What `pip install` reads, by rank: [install] overrides [global] whatever the file, and the
# PIP_* variables (section None) override both.
_PIP_RANK = {"global": 0, "install": 1, None: 2}
# Variables pip itself does not take as settings.
_NOT_SETTINGS = ("config-file", "version", "help")


def _normalized(name: str) -> str:
    return name.lower().replace("_", "-")


def pip_config_files() -> List[str]:
    """pip's configuration files, lowest priority first, chosen as pip chooses them: global,
    user (skipped when PIP_CONFIG_FILE names an existing file), site, then PIP_CONFIG_FILE;
    none at all when PIP_CONFIG_FILE is os.devnull."""
    given = os.environ.get("PIP_CONFIG_FILE")
    if given == os.devnull:
        return []
    xdg_dirs = (os.environ.get("XDG_CONFIG_DIRS") or "/etc/xdg").split(os.pathsep)
    files = [os.path.join(d, "pip", "pip.conf") for d in xdg_dirs if d] + ["/etc/pip.conf"]
    if not (given and os.path.exists(given)):
        config_home = os.environ.get("XDG_CONFIG_HOME") or os.path.expanduser("~/.config")
        files += [os.path.expanduser("~/.pip/pip.conf"), os.path.join(config_home, "pip", "pip.conf")]
    files.append(os.path.join(sys.prefix, "pip.conf"))
    return files + ([given] if given else [])


def pip_settings() -> List[PipSetting]:
    """Every setting of pip's configuration files (any section) and of the PIP_* variables,
    lowest priority first."""
    found: List[PipSetting] = []
    for path in pip_config_files():
        parser = configparser.RawConfigParser()
        try:
            parser.read(path)
        except (configparser.Error, OSError):
            continue
        for section in parser.sections():
            for key in parser.options(section):
                found.append(PipSetting(_normalized(key), parser.get(section, key),
                                        "%s in %s [%s]" % (key, path, section), section))
    for var in sorted(os.environ):
        name = _normalized(var[len("PIP_"):])
        if var.startswith("PIP_") and name not in _NOT_SETTINGS and os.environ[var].strip():
            found.append(PipSetting(name, os.environ[var], var))
    return found


def pip_install_config() -> Dict[str, PipSetting]:
    """The settings `pip install` would use, by key: for each, the setting of highest rank,
    and of the later file within a rank (as pip merges them)."""
    ranked = sorted((s for s in pip_settings() if s.section in _PIP_RANK), key=lambda s: _PIP_RANK[s.section])
    return {s.key: s for s in ranked}
