"""A file a command writes its result to (-o/--output, --quiet-file-output): checked before
any work starts, and replaced as a whole (its directory made if missing), so a reader never
sees half of it."""
import os
from pathlib import Path
from typing import List

from ..errors import SpecError
from ..plumbing.cache import partial_file


class OutputFile:
    def __init__(self, path: str, option: str) -> None:
        self.path = Path(path).expanduser().absolute()
        if self.path.is_dir():
            raise SpecError("%s %s is a directory: give a file name." % (option, path))
        self._written: List[str] = []

    def write(self, text: str) -> None:
        """Replace the file's content with `text`."""
        self._written = []
        self.add(text)

    def add(self, text: str) -> None:
        """Add `text` to what this command wrote to the file."""
        self._written.append(text)
        # The user's directory: never clean other temp files there.
        tmp = partial_file(self.path.parent, clean=False)
        with open(tmp, "w", encoding="utf-8") as out:
            out.write("".join(self._written))
        os.replace(tmp, self.path)
