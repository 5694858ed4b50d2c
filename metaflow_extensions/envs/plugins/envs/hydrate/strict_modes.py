"""Who else could replace what goes into a directory: judged as ssh's StrictModes judges a
key file, with Debian's rule for a user's private group.

A target directory must be the user's own and writable by no one else. Each directory above
it must be writable by no one else, unless it has the sticky bit: there (as in /tmp) only an
entry's owner may rename or remove it, so /tmp itself as a parent is fine. Who owns a
directory above is not judged on its own: a root- or volume-owned parent is normal (a
container's mounts, a CI runner's home), and its owner could replace anything below anyway.
"""
import grp
import os
import pwd
import stat
from pathlib import Path
from typing import Optional

def insecure(path: Path) -> Optional[str]:
    """Why another user could replace what goes into `path` (its end of a message), or None."""
    try:
        st = os.stat(path, follow_symlinks=False)
    except OSError:
        st = None
    if st is not None and stat.S_ISDIR(st.st_mode):
        why = foreign(st)
        if why:
            return "it " + why
    parent = Path(os.path.realpath(Path(path).absolute().parent))
    for directory in [parent, *parent.parents]:
        try:
            st = os.stat(directory)
        except OSError:  # not there yet: made by us
            continue
        if _others_can_write(st) and not st.st_mode & stat.S_ISVTX:
            return ("its parent directory %s can be written to by other users (%s), who could replace it"
                    % (directory, _describe(st)))
    return None


def foreign(st: os.stat_result) -> Optional[str]:
    """Why a directory with status `st` is not the user's alone (None when it is)."""
    if st.st_uid != os.geteuid():
        return "belongs to another user (%s), who could replace what is installed there" % _describe(st)
    if _others_can_write(st):
        return "can be written to by other users (%s), who could replace what is installed there" % _describe(st)
    return None


def _others_can_write(st: os.stat_result) -> bool:
    if st.st_mode & stat.S_IWOTH:
        return True
    return bool(st.st_mode & stat.S_IWGRP) and not _private_group(st)


def _private_group(st: os.stat_result) -> bool:
    """Whether the file's group holds its owner alone (a user's private group, where mkdir
    under umask 002 makes group-writable directories)."""
    try:
        owner = pwd.getpwuid(st.st_uid)
        group = grp.getgrgid(st.st_gid)
    except KeyError:
        return False
    members = list(group.gr_mem)
    return members == [owner.pw_name] or (not members and owner.pw_gid == group.gr_gid)


def _describe(st: os.stat_result) -> str:
    try:
        owner = "%s, uid %d" % (pwd.getpwuid(st.st_uid).pw_name, st.st_uid)
    except KeyError:
        owner = "uid %d" % st.st_uid
    return "owner %s, mode %04o" % (owner, stat.S_IMODE(st.st_mode))
