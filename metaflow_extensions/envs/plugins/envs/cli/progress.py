"""Progress of long work (resolving, downloading, installing), always on stderr so stdout
holds only a command's result: rich spinners and bars on a terminal, one plain line per
event otherwise, nothing with --quiet (errors are still printed)."""
import sys
import threading
import time
from contextlib import contextmanager
from typing import Callable, Iterator, Optional, TextIO


class Progress:
    def __init__(self, quiet: bool = False, stream: Optional[TextIO] = None) -> None:
        self.quiet = quiet
        self.stream = stream or sys.stderr
        self.fancy = not quiet and _isatty(self.stream)
        self._console = None

    # ---- plain messages -----------------------------------------------------------------
    def note(self, text: str) -> None:
        """An informational line (suppressed by --quiet)."""
        if self.quiet:
            return
        if self._console is not None:  # through rich, so a live bar (notices come during work) stays whole
            self._console.print(text, markup=False, highlight=False, soft_wrap=True)
        else:
            print(text, file=self.stream, flush=True)

    def warn(self, text: str) -> None:
        """A warning: printed even with --quiet."""
        print("warning: %s" % text, file=self.stream, flush=True)

    # ---- long work ----------------------------------------------------------------------
    @contextmanager
    def task(self, description: str, total: Optional[int] = None,
             poll: Optional[Callable[[], int]] = None, after: Optional[str] = None) -> Iterator[None]:
        """Run the body as one unit of work. With `total` and `poll` (how many of `total` are
        done), a bar follows `poll()`; once all are done the description becomes `after`."""
        if self.quiet:
            yield
            return
        started = time.time()
        if not self.fancy:
            print("%s..." % description, file=self.stream, flush=True)
            yield
            print("%s: done in %.1fs" % (description, time.time() - started), file=self.stream, flush=True)
            return
        with self._rich_task(description, total, poll, after):
            yield

    @contextmanager
    def _rich_task(self, description: str, total: Optional[int], poll: Optional[Callable[[], int]],
                   after: Optional[str]) -> Iterator[None]:
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress as Bars, SpinnerColumn, TextColumn, \
            TimeElapsedColumn

        if self._console is None:
            self._console = Console(file=self.stream)
        columns = [SpinnerColumn(), TextColumn("{task.description}")]
        if total:
            columns += [BarColumn(), MofNCompleteColumn()]
        columns.append(TimeElapsedColumn())
        stop = threading.Event()
        with Bars(*columns, console=self._console, transient=False) as bars:
            task_id = bars.add_task(description, total=total or None)

            def follow() -> None:
                while not stop.wait(0.1):
                    try:
                        done = poll() if poll else 0
                    except Exception:  # a progress display never breaks the work
                        continue
                    bars.update(task_id, completed=done)
                    if after and total and done >= total:
                        bars.update(task_id, description=after)

            watcher = threading.Thread(target=follow, daemon=True) if poll else None
            if watcher:
                watcher.start()
            try:
                yield
            finally:
                stop.set()
                if watcher:
                    watcher.join()
            if total:
                bars.update(task_id, completed=total, description=after or description)


def _isatty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False
