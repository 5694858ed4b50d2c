"""Running py-rattler's coroutines from synchronous code.

py-rattler completes its futures from Tokio threads that briefly take the GIL after the
result is delivered. A short-lived process (a CLI command, the remote bootstrap) that
finalizes right then aborts with "PyGILState_Release ... finalizing" — a known race of
pyo3's async bridge. After any rattler call, process exit waits a moment for those threads.
"""
import atexit
import os
import time
from typing import Any, Awaitable, Sequence

_GRACE_SECONDS = 0.2
_registered = False


def run_rattler(awaitable: Awaitable[Any]) -> Any:
    import asyncio  # here, not at the top: PyPI-only resolutions never pay for loading it

    global _registered
    if not _registered:
        atexit.register(time.sleep, _GRACE_SECONDS)
        _registered = True
    return asyncio.run(awaitable)


def rattler_client(middlewares: Sequence[Any], error_class: type) -> Any:
    """A rattler HTTP client, or one clear `error_class` when its TLS set-up fails (reqwest
    says only "builder error", and rattler panics if it has to build a default one itself)."""
    from rattler.networking import Client

    try:
        return Client(list(middlewares))
    except ValueError as err:
        raise error_class(
            "Could not set up HTTPS for Conda (%s): the CA certificates named by SSL_CERT_FILE (%s) and "
            "SSL_CERT_DIR (%s) could not be loaded. Point them at a readable PEM bundle or directory, or unset them."
            % (err, os.environ.get("SSL_CERT_FILE", "unset"), os.environ.get("SSL_CERT_DIR", "unset"))
        ) from None
