"""Nothing metaflow-envs does not own is touched, even in a race: while `create --force`,
crash recovery, `gc` and `create --into-dir --force` work on a directory of ours, another
thread swaps its path with a symbolic link to a victim directory, again and again, with the
real `renameat2(RENAME_EXCHANGE)` system call. Whatever the interleaving, the victim (a
folder of the test's own, under tmp_path) keeps its files and never receives our marker.

Each scenario runs a bounded number of rounds (no timing involved); an operation may fail in
a round (it found a symbolic link, or its directory replaced), which is the safe outcome.
"""
import ctypes
import os
import sys
import threading
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Dict, List

import pytest

from metaflow_extensions.envs.plugins.envs.cli import code_package
from metaflow_extensions.envs.plugins.envs.cli.gc import collect
from metaflow_extensions.envs.plugins.envs.errors import EnvError
from metaflow_extensions.envs.plugins.envs.hydrate.prefix import MARKER, OWNER_MARKER, named_prefix, owns

from .test_ownership import _create, sandbox  # noqa: F401 (a fixture)

ROUNDS = 20


def _renameat2():
    fn = getattr(ctypes.CDLL(None, use_errno=True), "renameat2", None)
    if fn is None:
        pytest.skip("the C library has no renameat2 (Linux with glibc 2.28 or later is needed for real swaps)")
    fn.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    return fn


class Swapper:
    """A thread exchanging paths `a` and `b` atomically (renameat2 RENAME_EXCHANGE) in a loop
    while the block runs; after, `a` is put back as the directory if it ended as the link.
    A thread rather than another process: with the interpreter switching threads every
    microsecond, swaps land between the steps of the code under test however busy the
    machine's cores are."""

    def __init__(self, a: Path, b: Path) -> None:
        self.rename = _renameat2()
        self.a, self.b = os.fsencode(a), os.fsencode(b)
        self.swaps = 0
        self._stop = threading.Event()
        self._started = threading.Event()

    def _exchange(self) -> bool:
        return self.rename(-100, self.a, -100, self.b, 2) == 0  # AT_FDCWD, RENAME_EXCHANGE

    def _loop(self) -> None:
        while not self._stop.is_set():
            if self._exchange():
                self.swaps += 1
                self._started.set()

    def __enter__(self) -> "Swapper":
        self._interval = sys.getswitchinterval()
        sys.setswitchinterval(1e-6)
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()
        self._started.wait()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        sys.setswitchinterval(self._interval)
        if os.path.islink(self.a) and not os.path.islink(self.b):
            assert self._exchange()


def _victim(root: Path) -> Path:
    victim = root / "victim"
    (victim / "sub").mkdir(parents=True)
    (victim / "keep.txt").write_text("keep me\n")
    (victim / "sub" / "data.txt").write_text("data\n")
    return victim


def _snapshot(path: Path) -> Dict[str, str]:
    return {str(p.relative_to(path)): p.read_text() if p.is_file() else "<dir>" for p in path.rglob("*")}


def _race(targets: List[Path], victim: Path, prepare, operation) -> None:
    """ROUNDS times: `prepare` (no race), then `operation` while each of `targets` and a
    symbolic link to `victim` swap places; the victim must come out of every round untouched."""
    links = [victim.parent / ("link-%d-to-victim" % i) for i in range(len(targets))]
    for link in links:
        link.symlink_to(victim)
    before = _snapshot(victim)
    swaps = 0
    for _ in range(ROUNDS):
        prepare()
        with ExitStack() as racing:
            swappers = [racing.enter_context(Swapper(target, link)) for target, link in zip(targets, links)]
            try:
                operation()
            except (EnvError, OSError):  # refused, or found its directory replaced: safe
                pass
        swaps += sum(swapper.swaps for swapper in swappers)
        assert _snapshot(victim) == before
        assert not (victim / OWNER_MARKER).exists() and not (victim / MARKER).exists()
    assert swaps > 0  # the race really ran


def _ours(prefix: Path) -> None:
    if not owns(prefix):
        _create(prefix)


def test_create_force_never_reaches_a_swapped_in_directory(sandbox):
    prefix = sandbox / "env"
    _race([prefix], _victim(sandbox), lambda: _ours(prefix), lambda: _create(prefix, force=True))


def test_crash_recovery_never_reaches_a_swapped_in_directory(sandbox):
    prefix = sandbox / "env"

    def interrupted():
        _ours(prefix)
        (prefix / MARKER).unlink(missing_ok=True)  # as if killed before the end
        (prefix / "half-written").write_text("x")

    _race([prefix], _victim(sandbox), interrupted, lambda: _create(prefix))


def test_gc_never_reaches_a_swapped_in_directory(sandbox):
    from metaflow_extensions.envs.plugins.envs.environments import Environments

    prefixes = [named_prefix("old-%d" % i) for i in range(4)]  # gc's removal is quick: more chances per round
    victim = _victim(sandbox)
    old = time.time() - 30 * 86400

    def unused():
        for prefix in prefixes:
            _ours(prefix)
            # The victim looks unused too: whichever gc looks at, it would be removed if ours.
            for path in (prefix / MARKER, prefix, victim):
                os.utime(path, (old, old))

    envs = Environments()
    _race(prefixes, victim, unused, lambda: collect(envs, 1, dry_run=False))


def test_into_dir_force_never_reaches_a_swapped_in_directory(sandbox):
    into = sandbox / "work"
    python = sandbox / "env" / "bin" / "python"

    def made():
        if not owns(into):
            code_package.prepare_dir(into, force=False)
            code_package.link_python(into, python)

    def forced():
        code_package.check_into_dir(into, force=True)
        code_package.prepare_dir(into, force=True)
        code_package.link_python(into, python)

    _race([into], _victim(sandbox), made, forced)
