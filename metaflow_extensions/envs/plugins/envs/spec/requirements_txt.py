"""requirements.txt → EnvSpec.

The supported subset of pip's format:

- blank lines, full-line `#` comments and trailing ` # comments`, `\\` line continuations;
- options, as `--opt value`, `--opt=value` or (short forms) `-i value`:
  `-i/--index-url URL`, `--extra-index-url URL`, `-f/--find-links URL`,
  `--trusted-host HOST`, `--pre`, `--no-index`, `-r/--requirement FILE` (its lines join
  this file's), `-c/--constraint FILE` (named requirements that only bound versions, given
  to uv as constraints), both relative to the including file, cycles refused; and our own
  `--conda-pkg SPEC`, which adds a non-Python Conda package (`ffmpeg`, `ffmpeg==6.1` exact,
  `ffmpeg>=6`, `conda-forge::ffmpeg`) to a PyPI environment, and `--conda-channel CHANNEL`,
  which adds a Conda channel (a name or URL), searched before the configured ones
  (METAFLOW_CONDA_CHANNELS), as the reference extension reads it; and `--sys-pkg
  __cuda==12.4`, a virtual package the target machines provide (EnvSpec.sys_packages);
- requirement lines: PEP 508 (`name[extra]>=1; python_version >= "3.8"`, `name @ URL`), bare
  VCS/archive URLs (`git+https://...#egg=name`), local paths (`./dir`, `/abs/dir`,
  `file:///abs/dir`), each optionally followed by `--hash=sha256:HEX` (several allowed).

Hashes work as pip's hash-checking mode: once a line has one (or `--require-hashes` is
given), every requirement must be pinned (`==` or `name @ URL`) and hashed, and resolution
refuses a file whose sha256 is not listed. Only sha256 can be checked (indexes publish it):
a line whose hashes are all sha384/sha512 is refused; next to a sha256 they are ignored.

Everything else (`-e`, `--no-binary`, ...) is an error naming the option: silently
dropping it would change what gets installed.

The line-level rules live in `RequirementLines` so that environment.yml's `pip:` section
follows exactly the same rules. This module also holds the two helpers every parser shares:
`read_spec_text` and `located_error`.
"""
import os
import re
import shlex
from dataclasses import replace
from typing import Dict, Iterator, List, Optional, Tuple

from packaging.requirements import InvalidRequirement, Requirement

from ..errors import SpecError
from .model import (
    CondaDep,
    EnvSpec,
    PypiDep,
    PypiSources,
    check_find_links,
    check_source_url,
    parse_channel,
    parse_sys_package,
)

# Options taking a value, by every spelling, mapped to what they set.
_VALUE_OPTIONS: Dict[str, str] = {
    "-r": "requirement",
    "--requirement": "requirement",
    "-c": "constraint",
    "--constraint": "constraint",
    "-i": "index-url",
    "--index-url": "index-url",
    "--extra-index-url": "extra-index-url",
    "-f": "find-links",
    "--find-links": "find-links",
    "--trusted-host": "trusted-host",
    "--conda-pkg": "conda-pkg",
    "--conda-channel": "conda-channel",
    "--sys-pkg": "sys-pkg",
}
_FLAG_OPTIONS = ("--pre", "--no-index", "--require-hashes")

# Options pip knows that we refuse, with what to do instead.
_REFUSED: Dict[str, str] = {
    "-e": "editable installs are not supported (environments are built once and shared): "
    "write the path or URL without '-e', e.g. './mypkg' or 'name @ git+https://...'",
    "--editable": "editable installs are not supported (environments are built once and "
    "shared): write the path or URL without '--editable', e.g. './mypkg'",
}

_SUPPORTED_TEXT = (
    "-r/--requirement, -c/--constraint, -i/--index-url, --extra-index-url, -f/--find-links, "
    "--trusted-host, --pre, --no-index, --require-hashes, --conda-pkg, --conda-channel, --sys-pkg"
)
# Algorithms pip accepts in `--hash`; only sha256 can be checked against what indexes publish.
_OTHER_HASHES = ("sha384", "sha512")

# pip's rule: a comment starts at a `#` at the start of a line or after whitespace, so the
# `#egg=` fragment of a URL is kept.
_COMMENT = re.compile(r"(^|\s+)#.*$")
# `name = 1.2` / `name=1.2`: not PEP 508, but conda users write it in environment.yml's pip
# section (the reference extension's tests do), so that section reads it as `name==1.2`.
_LOOSE_PIN = re.compile(
    r"^\s*([A-Za-z0-9][A-Za-z0-9._\-]*(?:\[[^\]]*\])?)\s*=\s*([0-9][^\s;=<>!~,]*)\s*$"
)
# pip expands `${VAR}` in requirement files; we do not (parsing must not depend on the
# environment), so say so instead of handing a literal `${VAR}` to the resolver.
_ENV_VAR = re.compile(r"\$\{[A-Za-z0-9_]+\}")


def located(source: str, lineno: Optional[int], message: str) -> str:
    """`<file>, line <n>: <message>`: how errors and warnings name where they come from."""
    where = "%s, line %d" % (source, lineno) if lineno else source
    return "%s: %s" % (where, message)


def located_error(source: str, lineno: Optional[int], message: str) -> SpecError:
    """One user-facing error: `<file>, line <n>: <what is wrong and what to write>`."""
    return SpecError(located(source, lineno, message))


def error_reason(err: SpecError) -> str:
    """The text of a model error, to re-raise it with a file and line."""
    return err.message if not err.hint else "%s %s" % (err.message, err.hint)


def read_spec_text(path: str) -> str:
    """The text of a spec file, or a SpecError naming the path (missing, not a file,
    unreadable, not UTF-8). A UTF-8 byte-order mark is dropped."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except FileNotFoundError:
        raise SpecError("Environment file '%s' does not exist: check the path." % path) from None
    except IsADirectoryError:
        raise SpecError(
            "Environment file '%s' is a directory: give the path of the file itself." % path
        ) from None
    except OSError as err:
        raise SpecError(
            "Cannot read environment file '%s': %s." % (path, err.strerror or err)
        ) from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = data[: err.start].count(b"\n") + 1
        raise located_error(
            path, line, "the file is not valid UTF-8 text: save it with UTF-8 encoding."
        ) from None


class RequirementLines:
    """Collects pip-style lines (requirements, options) into deps and sources.

    `loose_pins` accepts `name = 1.2` as `name==1.2` (environment.yml's pip section only).
    `allow_conda_pkg` is off in environment.yml, where Conda packages belong in
    `dependencies:` itself.
    """

    def __init__(self, source: str, loose_pins: bool = False, allow_conda_pkg: bool = True) -> None:
        self.source = source
        self._top = source
        self._including: List[str] = [_real(source)]  # files being read, for cycles
        self.constraints: List[str] = []
        self.loose_pins = loose_pins
        self.allow_conda_pkg = allow_conda_pkg
        self.conda_deps: List[CondaDep] = []
        self.channels: List[str] = []
        self.pypi_deps: List[PypiDep] = []
        self.python: Optional[str] = None
        self._python_line: Optional[int] = None
        self._index_url: Optional[Tuple[str, int]] = None
        self._extra_index_urls: List[str] = []
        self._find_links: List[str] = []
        self._trusted_hosts: List[str] = []
        self._pre = False
        self._no_index = False
        self._require_hashes = False
        self._dep_lines: Dict[PypiDep, Tuple[str, int]] = {}  # where each was written
        self._origins: List[Tuple[str, str]] = []  # (index or find-links, where it was written)
        self._sys: Dict[str, Tuple[str, int]] = {}  # virtual package -> (version, line)

    # -- results --------------------------------------------------------------------------
    def sources(self) -> PypiSources:
        return PypiSources(
            index_url=self._index_url[0] if self._index_url else None,
            extra_index_urls=tuple(dict.fromkeys(self._extra_index_urls)),
            find_links=tuple(dict.fromkeys(self._find_links)),
            trusted_hosts=tuple(dict.fromkeys(self._trusted_hosts)),
            pre=self._pre,
            no_index=self._no_index,
            origins=tuple(self._origins),
        )

    def spec(self) -> EnvSpec:
        self._check_hash_mode()
        return EnvSpec(
            conda_deps=tuple(dict.fromkeys(self.conda_deps)),
            pypi_deps=tuple(dict.fromkeys(self.pypi_deps)),
            pypi_sources=self.sources(),
            python=self.python,
            pypi_constraints=tuple(dict.fromkeys(self.constraints)),
            extra_channels=tuple(dict.fromkeys(self.channels)),
            sys_packages=tuple((name, version) for name, (version, _) in self._sys.items()),
        )

    # -- input ----------------------------------------------------------------------------
    def add(self, line: str, lineno: int) -> None:
        """One logical line, comments and continuations already removed."""
        text = line.strip()
        if not text:
            return
        var = _ENV_VAR.search(text)
        if var:
            raise self._error(
                lineno,
                "environment variables such as '%s' are not expanded: write the value itself; "
                "give index credentials through METAFLOW_CONDA_SRCS_AUTH_INFO, pip.conf or "
                "netrc instead of the URL." % var.group(0),
            )
        if text.startswith("-"):
            self._add_options(text, lineno)
        else:
            self._add_requirement(text, lineno)

    def _error(self, lineno: int, message: str) -> SpecError:
        return located_error(self.source, lineno, message)

    def _add_requirement(self, text: str, lineno: int) -> None:
        # Like pip: the requirement runs up to the first whitespace-separated token that
        # starts with '-'; what follows are per-requirement options.
        tokens = text.split()
        cut = next((i for i, tok in enumerate(tokens) if tok.startswith("-")), len(tokens))
        requirement = " ".join(tokens[:cut])
        hashes = self._hashes(self._split_options(" ".join(tokens[cut:]), lineno), lineno)
        if self.loose_pins:
            loose = _LOOSE_PIN.match(requirement)
            if loose:
                requirement = "%s==%s" % (loose.group(1), loose.group(2))
        try:
            dep = replace(PypiDep.parse(requirement), hashes=hashes)
        except SpecError as err:
            raise self._error(lineno, error_reason(err)) from None
        self.pypi_deps.append(dep)
        self._dep_lines.setdefault(dep, (self.source, lineno))

    def _hashes(self, options: List[str], lineno: int) -> Tuple[str, ...]:
        """The sha256 digests of a requirement's `--hash` options (its only allowed ones)."""
        sha256: List[str] = []
        others: List[str] = []
        i = 0
        while i < len(options):
            name, value = _split_option(options[i])
            if name != "--hash":
                raise self._error(
                    lineno,
                    "per-requirement option '%s' is not supported: remove it (only '--hash' "
                    "may follow a requirement)." % name,
                )
            if value is None:
                i += 1
                value = options[i] if i < len(options) else None
            if not value or ":" not in value:
                raise self._error(
                    lineno, "'--hash' needs a value such as '--hash=sha256:<hex digest>'."
                )
            algorithm, digest = value.split(":", 1)
            if algorithm.lower() == "sha256":
                sha256.append(digest.lower())
            elif algorithm.lower() in _OTHER_HASHES:
                others.append(value)
            else:
                raise self._error(
                    lineno, "unknown hash algorithm in '--hash=%s': use sha256, e.g. "
                    "'--hash=sha256:<hex digest>'." % value,
                )
            i += 1
        if others and not sha256:
            raise self._error(
                lineno, "only sha256 hashes can be checked (indexes publish sha256), and '%s' "
                "has none: add '--hash=sha256:...' for each allowed file (`pip hash FILE` "
                "prints it)." % " ".join("--hash=" + h for h in others),
            )
        return tuple(sorted(set(sha256)))

    def _check_hash_mode(self) -> None:
        """pip's hash-checking mode: once one requirement is hashed, an unhashed or loosely
        pinned one would let in a file nobody vouched for."""
        hashed = [d for d in self.pypi_deps if d.hashes]
        if not hashed and not self._require_hashes:
            return
        bad = [d for d in self.pypi_deps if not (d.hashes and d.name and d.pinned)]
        if bad:
            why = "--require-hashes" if self._require_hashes else "%s has a '--hash'" % self._where(hashed[0])
            source, lineno = self._dep_lines[bad[0]]
            raise located_error(
                source, lineno,
                "hash-checking mode (%s): every requirement must be 'name==version' or "
                "'name @ URL' followed by '--hash=sha256:...', as pip requires; not so: %s."
                % (why, ", ".join("'%s' (%s)" % (d, self._where(d)) for d in bad)),
            )

    def _where(self, dep: PypiDep) -> str:
        """`line 3` in the file being parsed, `other.txt, line 3` in one it includes."""
        source, lineno = self._dep_lines[dep]
        return "line %d" % lineno if source == self._top else "%s, line %d" % (source, lineno)

    def _split_options(self, text: str, lineno: int) -> List[str]:
        try:
            return shlex.split(text)
        except ValueError as err:
            raise self._error(
                lineno, "cannot split '%s' into options (%s): check the quotes." % (text, err)
            ) from None

    def _add_options(self, text: str, lineno: int) -> None:
        tokens = self._split_options(text, lineno)
        i = 0
        while i < len(tokens):
            token = tokens[i]
            if not token.startswith("-"):
                raise self._error(
                    lineno,
                    "unexpected '%s' after an option: put each requirement on its own line "
                    "and give each option one value." % token,
                )
            name, value = _split_option(token)
            if name in _REFUSED:
                raise self._error(lineno, "option '%s': %s." % (name, _REFUSED[name]))
            if name == "--hash":
                raise self._error(
                    lineno, "'--hash' must follow a requirement on the same line, e.g. "
                    "'numpy==1.26.4 --hash=sha256:...'."
                )
            if name in _FLAG_OPTIONS:
                if value is not None:
                    raise self._error(
                        lineno, "option '%s' takes no value: write '%s' alone." % (name, name)
                    )
                self._set_flag(name)
            elif name in _VALUE_OPTIONS:
                if value is None:
                    i += 1
                    value = tokens[i] if i < len(tokens) else None
                if not value:
                    raise self._error(
                        lineno, "option '%s' needs a value, e.g. '%s %s'."
                        % (name, name, _EXAMPLES[_VALUE_OPTIONS[name]]),
                    )
                self._set_value(_VALUE_OPTIONS[name], name, value, lineno)
            else:
                raise self._error(
                    lineno, "option '%s' is not supported: remove it. Supported options: %s."
                    % (name, _SUPPORTED_TEXT),
                )
            i += 1

    def _set_flag(self, name: str) -> None:
        if name == "--pre":
            self._pre = True
        elif name == "--require-hashes":
            self._require_hashes = True
        else:
            self._no_index = True

    def _set_value(self, what: str, name: str, value: str, lineno: int) -> None:
        try:
            if what in ("index-url", "extra-index-url"):
                check_source_url(value, name)
            elif what == "find-links":
                check_find_links(value, name)
        except SpecError as err:
            raise self._error(lineno, error_reason(err)) from None
        if what in ("index-url", "extra-index-url", "find-links"):
            self._origins.append((value, "%s in %s" % (name, located(self.source, lineno, "").rstrip(": "))))
        if what in ("requirement", "constraint"):
            self._include(what, name, value, lineno)
        elif what == "index-url":
            # pip silently keeps the last one; two different primary indexes is a mistake
            if self._index_url and self._index_url[0] != value:
                raise self._error(
                    lineno, "a second index URL '%s' (the first is on line %d): keep one "
                    "'--index-url' and add the other with '--extra-index-url'."
                    % (value, self._index_url[1]),
                )
            self._index_url = (value, lineno)
        elif what == "extra-index-url":
            self._extra_index_urls.append(value)
        elif what == "find-links":
            self._find_links.append(value)
        elif what == "trusted-host":
            self._trusted_hosts.append(value)
        elif what == "conda-channel":
            self._add_conda_channel(name, value, lineno)
        elif what == "sys-pkg":
            self._conda_only_in_requirements(name, value, lineno, "sys")
            self.add_sys(value, lineno)
        else:
            self._add_conda_pkg(name, value, lineno)

    def _include(self, what: str, name: str, value: str, lineno: int) -> None:
        """`-r FILE` (its lines join this request) or `-c FILE` (its lines bound versions
        only), FILE relative to the including file, as pip and uv read them."""
        path = os.path.join(os.path.dirname(self.source), os.path.expanduser(value))
        if value.endswith((".yml", ".yaml")):
            raise self._error(lineno, "'%s %s' names an environment.yml: give it with -f (--file) instead, "
                              "not from a requirements file." % (name, value))
        if _real(path) in self._including:
            chain = " -> ".join(self._including[self._including.index(_real(path)):] + [_real(path)])
            raise self._error(lineno, "'%s %s' includes a file that is already being read (%s): remove "
                              "the cycle." % (name, value, chain))
        try:
            text = read_spec_text(path)
        except SpecError as err:
            raise self._error(lineno, "'%s %s': %s" % (name, value, err)) from None
        outer, self.source = self.source, path
        self._including.append(_real(path))
        try:
            for number, line in logical_lines(text):
                if what == "requirement":
                    self.add(line, number)
                else:
                    self._add_constraint(line, number)
        finally:
            self._including.pop()
            self.source = outer

    def _add_constraint(self, line: str, lineno: int) -> None:
        """A constraints file holds named requirements (no extras, no URLs) and more `-c`."""
        text = line.strip()
        if not text:
            return
        if text.startswith("-"):
            name, value = _split_option(text.split()[0])
            if name not in ("-c", "--constraint"):
                raise self._error(lineno, "option '%s' is not allowed in a constraints file: only "
                                  "requirements such as 'numpy<2' (and '-c FILE')." % name)
            self._add_options(text, lineno)
            return
        try:
            dep = PypiDep.parse(text)
            requirement = Requirement(dep.requirement) if dep.name else None
        except (SpecError, InvalidRequirement):
            requirement = None
        if requirement is None or requirement.url or requirement.extras:
            raise self._error(lineno, "'%s' is not a constraint: write a name with versions, e.g. "
                              "'numpy<2' or 'requests==2.32.3' (no extras, no URL)." % text)
        self.constraints.append(str(requirement))

    def _conda_only_in_requirements(self, name: str, value: str, lineno: int, section: str) -> None:
        if not self.allow_conda_pkg:
            raise self._error(
                lineno, "'%s %s' is not allowed here: list '%s' under '%s:' instead."
                % (name, value, value, section),
            )

    def _add_conda_channel(self, name: str, value: str, lineno: int) -> None:
        self._conda_only_in_requirements(name, value, lineno, "channels")
        try:
            channel = parse_channel(value)
        except SpecError as err:
            raise self._error(lineno, error_reason(err)) from None
        if channel:
            self.channels.append(channel)

    def _add_conda_pkg(self, name: str, value: str, lineno: int) -> None:
        self._conda_only_in_requirements(name, value, lineno, "dependencies")
        try:
            dep = CondaDep.parse(value)
        except SpecError as err:
            raise self._error(lineno, error_reason(err)) from None
        self.add_conda(dep, lineno)

    def add_sys(self, text: str, lineno: int) -> None:
        """A virtual package the target provides (`__cuda==12.4`), declared once."""
        try:
            name, version = parse_sys_package(text)
        except SpecError as err:
            raise self._error(lineno, error_reason(err)) from None
        if name in self._sys and self._sys[name][0] != version:
            raise self._error(lineno, "system package %s is declared twice (first on line %d, as %s): keep "
                              "one version." % (name, self._sys[name][1], self._sys[name][0]))
        self._sys.setdefault(name, (version, lineno))

    def add_conda(self, dep: CondaDep, lineno: int) -> None:
        """A Conda dependency; `python` becomes the python constraint. `pip` is kept like
        any package: uv needs none, but the user asked for it (to use it in the environment)."""
        if dep.name != "python":
            self.conda_deps.append(dep)
            return
        if dep.channel:
            raise self._error(
                lineno, "python cannot come from a chosen channel ('%s'): write '%s' and list "
                "'%s' under channels." % (dep, CondaDep(dep.name, dep.version), dep.channel),
            )
        if self._python_line is not None:
            raise self._error(
                lineno, "python is constrained twice (first on line %d): keep one python "
                "requirement, e.g. 'python>=3.9,<3.12'." % self._python_line,
            )
        self.python, self._python_line = dep.version, lineno


_EXAMPLES = {
    "requirement": "other-requirements.txt",
    "constraint": "constraints.txt",
    "index-url": "https://pypi.org/simple",
    "extra-index-url": "https://download.pytorch.org/whl/cpu",
    "find-links": "https://download.pytorch.org/whl/torch_stable.html",
    "trusted-host": "pypi.example.com",
    "conda-pkg": "ffmpeg",
    "conda-channel": "pytorch",
    "sys-pkg": "__cuda==12.4",
}


def _real(path: str) -> str:
    return os.path.realpath(path)


def _split_option(token: str) -> Tuple[str, Optional[str]]:
    """`--opt=value` → (`--opt`, `value`); short options with an attached value, `-iURL` or
    `-i=URL` → (`-i`, `URL`); a bare option → (option, None)."""
    if token.startswith("--"):
        name, eq, value = token.partition("=")
        return name, value if eq else None
    name, rest = token[:2], token[2:]
    if rest.startswith("="):
        rest = rest[1:]
    return name, rest or None


def logical_lines(text: str) -> Iterator[Tuple[int, str]]:
    """(line number of the first physical line, text) for each logical line, with `\\`
    continuations joined and comments removed."""
    start: Optional[int] = None
    parts: List[str] = []
    for number, raw in enumerate(text.splitlines(), 1):
        is_comment = raw.lstrip().startswith("#")
        if raw.endswith("\\") and not is_comment:
            if start is None:
                start = number
            parts.append(raw[:-1])
            continue
        if start is not None:
            # a comment line ends a continuation, as in pip
            parts.append("" if is_comment else raw)
            yield start, _COMMENT.sub("", "".join(parts))
            start, parts = None, []
        else:
            yield number, _COMMENT.sub("", raw)
    if start is not None:
        yield start, _COMMENT.sub("", "".join(parts))


def parse_text(text: str, source: str) -> EnvSpec:
    """Parse the text of a requirements file; `source` names it in error messages."""
    lines = RequirementLines(source)
    for lineno, line in logical_lines(text):
        lines.add(line, lineno)
    return lines.spec()


def parse_file(path: str) -> EnvSpec:
    """Read and parse a requirements file."""
    return parse_text(read_spec_text(path), path)


def read_constraints(path: str) -> Tuple[str, ...]:
    """The requirements of a constraints file, as `-c FILE` reads it (pip's `constraint`
    setting names such files too)."""
    lines = RequirementLines(path)
    for lineno, line in logical_lines(read_spec_text(path)):
        lines._add_constraint(line, lineno)  # noqa: SLF001 - this module's own class
    return tuple(dict.fromkeys(lines.constraints))
