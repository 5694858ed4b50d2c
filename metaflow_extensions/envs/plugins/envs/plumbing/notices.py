"""Notices from deep in the engine (a wheel being built from source, still building...) to
whoever shows progress: the CLI's Progress, a flow's echo. They travel through the standard
`logging` module, so the engine needs no handle on either; with no one relaying them, they
go nowhere (not to the root logger either)."""
import logging
from contextlib import contextmanager
from typing import Callable, Iterator

_LOGGER = logging.getLogger("metaflow_envs")
_LOGGER.propagate = False


def notice(text: str) -> None:
    """Tell the user `text` (one line), if someone relays notices."""
    _LOGGER.info(text)


class _Relay(logging.Handler):
    def __init__(self, show: Callable[[str], None]) -> None:
        super().__init__(logging.INFO)
        self.show = show

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.show(record.getMessage())
        except Exception:  # showing progress never breaks the work
            pass


@contextmanager
def relayed_to(show: Callable[[str], None]) -> Iterator[None]:
    """Within the block, every notice (from any thread) is handed to `show`."""
    handler = _Relay(show)
    _LOGGER.addHandler(handler)
    _LOGGER.setLevel(logging.INFO)
    try:
        yield
    finally:
        _LOGGER.removeHandler(handler)
