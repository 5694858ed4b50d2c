"""Checks of command-line arguments, made before any work starts: each raises a SpecError
naming what to change."""
import math
import os
import re
from typing import Iterable, List, Optional, Sequence

from ..errors import SpecError, UsageError
from ..ids import CONDA_PLATFORMS, Alias, parse_alias
from ..spec import kind_of

_PREFIX_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")
# A prefix's own name becomes file names beside it (`<name>.lock`, temp names while it is
# replaced): file systems allow 255 bytes per name, so keep room for what we add.
MAX_PREFIX_NAME = 200


def check_archs(archs: Iterable[str]) -> List[str]:
    out = []
    for arch in archs:
        if arch not in CONDA_PLATFORMS:
            raise UsageError("Unknown architecture '%s' for --arch: use one of %s."
                            % (arch, ", ".join(CONDA_PLATFORMS)))
        if arch not in out:
            out.append(arch)
    return out


def check_choice(value: str, choices: Iterable[str], option: str) -> str:
    """A value of an option taking one of a few words: anything else is a usage mistake."""
    choices = list(choices)
    if value not in choices:
        raise UsageError("Unknown %s '%s': use one of %s." % (option, value, ", ".join(choices)))
    return value


def check_new_aliases(names: Iterable[str]) -> List[Alias]:
    """Aliases to write: generic names only (pathspecs are written by runs)."""
    return [parse_alias(name, kind="generic") for name in names]


def check_env_file(options: Sequence[Sequence]) -> Optional[tuple]:
    """`options` holds (flag, path, kind) for -r/-f/-p; at most one may be given. Returns
    (path, kind) or None."""
    given = [(flag, path, kind) for flag, path, kind in options if path]
    if len(given) > 1:
        raise SpecError("Give only one of %s (got %s)." % (
            ", ".join(flag for flag, _, _ in options), " and ".join(flag for flag, _, _ in given)))
    if not given:
        return None
    flag, path, kind = given[0]
    if not os.path.exists(path):
        raise SpecError("File '%s' given to %s does not exist: check the path." % (path, flag))
    if not os.path.isfile(path):
        raise SpecError("'%s' given to %s is not a file: give the path of the file itself." % (path, flag))
    if not os.access(path, os.R_OK):
        raise SpecError("File '%s' given to %s is not readable: check its permissions." % (path, flag))
    kind_of(path, kind)
    return path, kind


def check_prefix_name(name: str) -> str:
    if not _PREFIX_NAME.match(name or "") or name in (".", ".."):
        raise SpecError("Invalid environment name '%s' for --name: use letters, digits, '_', '.' "
                        "and '-' (e.g. 'my-env')." % name)
    return check_dir_name(name, "--name")


def check_dir_name(path: str, option: str) -> str:
    """The last part of a directory we create (--name, --prefix, --into-dir) fits in a file
    name together with what we put beside it."""
    name = os.path.basename(os.path.normpath(path))
    size = len(os.fsencode(name))
    if size > MAX_PREFIX_NAME:
        raise SpecError("The name '%s...' given to %s is %d bytes long: use at most %d (file names are "
                        "limited to 255 bytes, and metaflow-envs adds files such as '<name>.lock' beside it)."
                        % (name[:40], option, size, MAX_PREFIX_NAME))
    return path


def check_days(days: float, option: str = "--older-than") -> float:
    # click's float type lets nan and inf through; nan compares false to everything, so a
    # cutoff computed from it would make every file look old.
    if not math.isfinite(days) or days < 0:
        raise SpecError("%s must be a number of days >= 0 (e.g. 30), not %s." % (option, days))
    return days


def check_packages(texts: Iterable[str], option: str) -> list:
    """--conda-pkg (Conda match specs) or --pypi-pkg (PEP 508 requirements)."""
    from ..spec.model import CondaDep, PypiDep

    parse = CondaDep.parse if option == "--conda-pkg" else PypiDep.parse
    out = []
    for text in texts:
        try:
            out.append(parse(text))
        except SpecError as err:
            raise SpecError("%s %s: %s" % (option, text, err)) from None
    return out
