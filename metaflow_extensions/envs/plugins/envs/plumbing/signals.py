"""Stopping cleanly on SIGTERM and SIGINT, so that clean-up in `finally` blocks runs.

Python turns SIGINT into KeyboardInterrupt, but SIGTERM (what a scheduler, `timeout` or
`kill` sends) ends the process at once, past every `finally`, and either signal reaches only
the main thread while the work (resolving, verifying) runs in worker threads. Inside
`stop_on_signals` (entered by the main thread around such work), both signals:
- raise `Terminated` (a KeyboardInterrupt: entry points report "interrupted") in the main
  thread, which then waits for the workers as it leaves their pool;
- kill the child processes registered with `child` (a worker waiting for one returns), and
  make `check_stopped` raise `Terminated` in the workers, so each stops at its next check
  and runs its own clean-up.
"""
import signal
import subprocess
import threading
from contextlib import contextmanager
from typing import Any, Dict, Iterator, Set

_SIGNALS = (signal.SIGTERM, signal.SIGINT)
_stopped = threading.Event()
_lock = threading.Lock()
_children: Set[subprocess.Popen] = set()


class Terminated(KeyboardInterrupt):
    """SIGTERM or SIGINT asked this process to stop."""


@contextmanager
def stop_on_signals() -> Iterator[None]:
    """Around work the main thread waits for (a no-op in other threads: only the main
    thread can handle signals)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def stop(signum: int, frame: Any) -> None:
        _stopped.set()
        with _lock:
            running = list(_children)
        for proc in running:
            try:
                proc.kill()
            except OSError:  # ended already
                pass
        raise Terminated("stopped by signal %d" % signum)

    previous: Dict[int, Any] = {}
    for signum in _SIGNALS:
        old = signal.signal(signum, stop)
        previous[signum] = signal.SIG_DFL if old is None else old  # None: set outside Python
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        _stopped.clear()  # the workers are done (their pool is left inside this block)


def check_stopped() -> None:
    """In a worker: raise Terminated once a signal asked the process to stop."""
    if _stopped.is_set():
        raise Terminated("stopped by a signal")


@contextmanager
def child(proc: subprocess.Popen) -> Iterator[subprocess.Popen]:
    """Register a running child process: a stopping signal kills it."""
    with _lock:
        _children.add(proc)
    try:
        check_stopped()  # a signal that came just before it was registered
        yield proc
    finally:
        with _lock:
            _children.discard(proc)
