"""Running py-rattler's coroutines from synchronous code.

py-rattler completes its futures from Tokio threads that briefly take the GIL after the
result is delivered. A short-lived process (a CLI command, the remote bootstrap) that
finalizes right then aborts with "PyGILState_Release ... finalizing" — a known race of
pyo3's async bridge. After any rattler call, process exit waits a moment for those threads.
"""
import atexit
import time
from typing import Any, Awaitable

_GRACE_SECONDS = 0.2
_registered = False


def run_rattler(awaitable: Awaitable[Any]) -> Any:
    import asyncio  # here, not at the top: PyPI-only resolutions never pay for loading it

    global _registered
    if not _registered:
        atexit.register(time.sleep, _GRACE_SECONDS)
        _registered = True
    return asyncio.run(awaitable)
