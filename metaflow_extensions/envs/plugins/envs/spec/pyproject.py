"""pyproject.toml → EnvSpec (a PyPI-only environment).

Read:
- `[project] dependencies` (PEP 621). `[project.optional-dependencies]` and
  `[dependency-groups]` are NOT included (each present gives a warning, EnvSpec.warnings): an
  environment is the project's runtime requirements; list anything else in `dependencies`
  (or use a requirements file).
- `[project] requires-python`, translated clause by clause into a Conda version spec for
  EnvSpec.python (`>=3.9` → `>=3.9`, `~=3.10` → `>=3.10,<4`, `==3.10.*` → `3.10.*`).
- Package indexes from `[[tool.uv.index]]` (`default = true` replaces PyPI → index_url;
  `format = "flat"` → find_links; others → extra_index_urls), uv's older `[tool.uv]`
  `index-url` / `extra-index-url` / `find-links` / `no-index`, and `[[tool.poetry.source]]`
  (`priority = "primary"` or `"default"` → index_url, a `"default"` one winning over
  `"primary"` ones and further primaries becoming extras; `"supplemental"`, `"explicit"`,
  `"secondary"` or no priority → extra_index_urls). Indexes declared here are searched as uv
  (and Poetry) search them, uv's `first-index` rule: each package from the first index that has
  it; `[tool.uv] index-strategy` chooses another rule, as it does for uv.

Settings that would change what gets installed but that we cannot honour (`[tool.uv.sources]`,
`[tool.uv] override-dependencies`, Poetry's own `[tool.poetry.dependencies]`, an explicit uv
index, ...) are errors naming the setting; other tools' sections are ignored.
"""
import re
import sys
from typing import Any, Callable, Dict, List, Optional, Tuple

from packaging.specifiers import InvalidSpecifier, Specifier, SpecifierSet
from packaging.version import InvalidVersion, Version

from ..errors import SpecError
from .model import INDEX_STRATEGIES, EnvSpec, PypiDep, PypiSources, check_find_links, check_source_url
from .requirements_txt import error_reason, located, located_error, read_spec_text

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.9/3.10 only
    import tomli as tomllib

# [tool.uv] settings that do not change the packages resolved for [project] dependencies.
_UV_IGNORED = frozenset(
    (
        "dev-dependencies", "default-groups", "managed", "package", "workspace", "conflicts",
        "cache-dir", "cache-keys", "required-version", "python-preference", "python-downloads",
        "compile-bytecode", "link-mode", "reinstall", "reinstall-package", "offline",
        "native-tls", "keyring-provider", "concurrent-downloads", "concurrent-builds",
        "concurrent-installs", "publish-url", "trusted-publishing", "check-url",
        "build-backend",
    )
)
_UV_INDEX_KEYS = frozenset(("name", "url", "default", "explicit", "format"))
_UV_INDEX_IGNORED = frozenset(
    ("authenticate", "ignore-error-codes", "cache-control", "publish-url")
)
_POETRY_SOURCE_KEYS = frozenset(("name", "url", "priority", "default", "secondary"))
_POETRY_PRIMARY = ("default", "primary")
_POETRY_EXTRA = ("supplemental", "explicit", "secondary")

_TOML_POSITION = re.compile(r"\s*\(at (?:line (\d+), column \d+|end of document)\)")

# Order of clauses in the translated python spec: lower bounds first, then the rest.
_OP_RANK = {">=": 0, ">": 0, "==": 1, "~=": 1, "<=": 2, "<": 2, "!=": 3}


def _line_of(text: str, needle: str) -> Optional[int]:
    """Where `needle` is written: the first line setting it as a key (`needle = ...`), else
    the first line containing it. TOML parsers give no positions for values."""
    lines = text.splitlines()
    key = re.compile(r"^\s*[\"']?%s[\"']?\s*=" % re.escape(needle))
    for matches in (key.match, lambda line: needle in line):
        for number, line in enumerate(lines, 1):
            if matches(line):
                return number
    return None


def requires_python_spec(requires_python: str) -> Optional[str]:
    """Translate a PEP 440 `requires-python` into a Conda version spec (None if empty).
    Raises SpecError (without a location) when a clause cannot be translated."""
    try:
        specifiers = SpecifierSet(requires_python)
    except InvalidSpecifier:
        raise SpecError(
            "requires-python '%s' is not a valid version specifier: write e.g. '>=3.9' or "
            "'>=3.9,<3.13'." % requires_python
        ) from None
    clauses: List[str] = []
    for spec in sorted(specifiers, key=lambda s: (_OP_RANK.get(s.operator, 9), str(s))):
        clauses.extend(_python_clause(spec))
    return ",".join(clauses) or None


def _python_clause(spec: Specifier) -> List[str]:
    op, version = spec.operator, spec.version
    if op == "===":
        raise SpecError(
            "requires-python clause '%s' (arbitrary equality) has no Conda equivalent: write "
            "'==%s' instead." % (spec, version)
        )
    if op == "==" and version.endswith(".*"):
        return [version]  # `==3.10.*` → conda's `3.10.*`
    if op != "~=":
        return [op + version]
    # ~=X.Y means >=X.Y,==X.*: bump the second-to-last release number for the upper bound
    release = Version(version).release
    upper = list(release[:-1])
    upper[-1] += 1
    return [">=" + version, "<" + ".".join(str(p) for p in upper)]


class _Parser:
    def __init__(self, text: str, source: str) -> None:
        self.text = text
        self.source = source
        self.origins: List[Tuple[str, str]] = []  # (index or find-links, where it is declared)

    def declared(self, url: str, where: str) -> str:
        """`url`, remembered as declared at `where` of this file (for messages)."""
        self.origins.append((url, "%s in %s" % (where, self.source)))
        return url

    def error(self, message: str, needle: Optional[str] = None) -> SpecError:
        return located_error(self.source, _line_of(self.text, needle) if needle else None, message)

    def parse(self) -> EnvSpec:
        try:
            data = tomllib.loads(self.text)
        except tomllib.TOMLDecodeError as err:
            # the decoder puts the position in its message: "... (at line 3, column 7)"
            where = _TOML_POSITION.search(str(err))
            reason = _TOML_POSITION.sub("", str(err)).strip()
            line = int(where.group(1)) if where and where.group(1) else None
            if where and line is None:  # "at end of document": point at the last line
                line = len(self.text.splitlines()) or 1
            raise located_error(
                self.source, line,
                "not valid TOML (%s): fix the syntax there." % reason,
            ) from None
        tool = self.table(data, "tool", "[tool]")
        project = data.get("project")
        if not isinstance(project, dict):
            hint = ""
            if isinstance(tool.get("poetry"), dict) and "dependencies" in tool["poetry"]:
                hint = " (Poetry's [tool.poetry.dependencies] is not read: move them there)"
            raise self.error(
                "no [project] table: list the packages in '[project]' 'dependencies = "
                "[\"pandas>=1.0\", ...]' (PEP 621)%s." % hint
            )
        deps = self.dependencies(project)
        python = self.python(project)
        sources = self.sources(tool)
        return EnvSpec(pypi_deps=deps, pypi_sources=sources, python=python, warnings=self.unused(data, project))

    def unused(self, data: Dict[str, Any], project: Dict[str, Any]) -> Tuple[str, ...]:
        """A warning for each table of packages that is not part of the environment."""
        tables = (("[project.optional-dependencies]", project.get("optional-dependencies"), "optional-dependencies"),
                  ("[dependency-groups]", data.get("dependency-groups"), "[dependency-groups]"))
        return tuple(
            located(self.source, _line_of(self.text, needle),
                    "%s (%s) is not included: list what the environment needs in '[project] "
                    "dependencies'." % (table, ", ".join(sorted(value))))
            for table, value, needle in tables if isinstance(value, dict) and value
        )

    def table(self, parent: Dict[str, Any], key: str, what: str) -> Dict[str, Any]:
        value = parent.get(key, {})
        if not isinstance(value, dict):
            raise self.error("%s must be a table." % what, key)
        return value

    def dependencies(self, project: Dict[str, Any]) -> Tuple[PypiDep, ...]:
        if "dependencies" in (project.get("dynamic") or ()):
            raise self.error(
                "[project] dependencies are declared dynamic, so they cannot be read from "
                "this file: list them in '[project] dependencies = [...]' and remove "
                "\"dependencies\" from 'dynamic'.", "dynamic"
            )
        raw = project.get("dependencies", [])
        if not isinstance(raw, list):
            raise self.error(
                "[project] dependencies must be a list of strings, e.g. "
                "'dependencies = [\"pandas>=1.0\"]'.", "dependencies"
            )
        deps: List[PypiDep] = []
        for item in raw:
            if not isinstance(item, str):
                raise self.error(
                    "[project] dependencies entry %r is not a string: quote it, e.g. "
                    "\"pandas>=1.0\"." % (item,), "dependencies"
                )
            try:
                deps.append(PypiDep.parse(item))
            except SpecError as err:
                raise self.error(
                    "in [project] dependencies: %s" % error_reason(err), item
                ) from None
        return tuple(dict.fromkeys(deps))

    def python(self, project: Dict[str, Any]) -> Optional[str]:
        raw = project.get("requires-python")
        if raw is None:
            return None
        if not isinstance(raw, str):
            raise self.error(
                "[project] requires-python must be a string such as '>=3.9'.", "requires-python"
            )
        try:
            return requires_python_spec(raw)
        except (SpecError, InvalidVersion) as err:
            message = error_reason(err) if isinstance(err, SpecError) else str(err)
            raise self.error(message, "requires-python") from None

    # -- package indexes ------------------------------------------------------------------
    def sources(self, tool: Dict[str, Any]) -> PypiSources:
        defaults: List[Tuple[str, str]] = []  # (url, where) of every index replacing PyPI
        extras: List[str] = []
        find_links: List[str] = []
        no_index = False
        strategy = None

        uv = self.table(tool, "uv", "[tool.uv]")
        for key, value in uv.items():
            if key == "index":
                self.uv_indexes(value, defaults, extras, find_links)
            elif key == "index-url":
                where = "[tool.uv] index-url"
                defaults.append((self.declared(self.url(value, where, key), where), where))
            elif key == "extra-index-url":
                where = "[tool.uv] extra-index-url"
                extras.extend(self.declared(self.url(u, where, key), where) for u in self.strings(value, where, key))
            elif key == "find-links":
                where = "[tool.uv] find-links"
                find_links.extend(self.declared(self.checked(check_find_links, u, where, key), where)
                                  for u in self.strings(value, where, key))
            elif key == "no-index":
                no_index = self.boolean(value, "[tool.uv] no-index", key)
            elif key == "index-strategy":
                if value not in INDEX_STRATEGIES:
                    raise self.error("[tool.uv] index-strategy must be one of %s, not %r."
                                     % (", ".join(INDEX_STRATEGIES), value), key)
                strategy = value
            elif key not in _UV_IGNORED:
                raise self.error(
                    "[tool.uv] setting '%s' is not supported by metaflow-envs and would change "
                    "what gets installed: remove it (write sources into the requirement, e.g. "
                    "'name @ git+https://...', and indexes as [[tool.uv.index]])." % key, key
                )

        poetry = self.table(tool, "poetry", "[tool.poetry]")
        if poetry.get("dependencies"):
            raise self.error(
                "[tool.poetry.dependencies] is not read: move those packages into "
                "'[project] dependencies' (PEP 621) and remove the table.",
                "[tool.poetry.dependencies]",
            )
        self.poetry_sources(poetry.get("source", []), defaults, extras)

        if len(defaults) > 1:
            raise self.error(
                "more than one index replaces PyPI (%s): keep one default/primary index and "
                "make the others extra indexes." % ", ".join(w for _, w in defaults),
            )
        index_url = defaults[0][0] if defaults else None
        return PypiSources(
            index_url=index_url,
            extra_index_urls=tuple(u for u in dict.fromkeys(extras) if u != index_url),
            find_links=tuple(dict.fromkeys(find_links)),
            no_index=no_index,
            # Indexes declared the uv (or Poetry) way are searched by uv's rule (unless the
            # file chooses another), as uv and Poetry search them: each package from the first
            # index that has it.
            index_strategy=strategy,
            uv_declared=bool(self.origins or no_index or strategy),
            origins=tuple(self.origins),
        )

    def uv_indexes(
        self, value: Any, defaults: List[Tuple[str, str]], extras: List[str],
        find_links: List[str],
    ) -> None:
        if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
            raise self.error("[[tool.uv.index]] must be a list of tables with a 'url'.", "index")
        for entry in value:
            where = "[[tool.uv.index]] '%s'" % entry.get("name", entry.get("url", "?"))
            for key in entry:
                if key not in _UV_INDEX_KEYS and key not in _UV_INDEX_IGNORED:
                    raise self.error(
                        "%s: setting '%s' is not supported: remove it." % (where, key), key
                    )
            url = self.declared(self.url(entry.get("url"), where, _entry_needle(entry)), where)
            if self.boolean(entry.get("explicit", False), where + " explicit", "explicit"):
                raise self.error(
                    "%s: 'explicit = true' indexes are only used through [tool.uv.sources], "
                    "which is not supported: remove 'explicit' to use it as an extra index."
                    % where, "explicit"
                )
            fmt = entry.get("format", "simple")
            if fmt not in ("simple", "flat"):
                raise self.error(
                    "%s: format '%s' is unknown: use 'simple' or 'flat'." % (where, fmt), "format"
                )
            if fmt == "flat":
                find_links.append(url)  # a flat index is what pip calls find-links
            elif self.boolean(entry.get("default", False), where + " default", "default"):
                defaults.append((url, where))
            else:
                extras.append(url)

    def poetry_sources(
        self, value: Any, defaults: List[Tuple[str, str]], extras: List[str]
    ) -> None:
        if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
            raise self.error(
                "[[tool.poetry.source]] must be a list of tables with 'name' and 'url'.", "source"
            )
        primaries: List[Tuple[str, str, bool]] = []  # (url, where, is "default")
        for entry in value:
            where = "[[tool.poetry.source]] '%s'" % entry.get("name", entry.get("url", "?"))
            for key in entry:
                if key not in _POETRY_SOURCE_KEYS:
                    raise self.error(
                        "%s: setting '%s' is not supported: remove it." % (where, key), key
                    )
            url = self.declared(self.url(entry.get("url"), where, _entry_needle(entry)), where)
            priority = entry.get("priority")
            if priority is None:
                # Poetry < 1.5 spelled priorities as booleans
                if entry.get("default") is True:
                    priority = "default"
                elif entry.get("secondary") is True:
                    priority = "secondary"
            if priority in _POETRY_PRIMARY:
                primaries.append((url, where, priority == "default"))
            elif priority is None or priority in _POETRY_EXTRA:
                extras.append(url)
            else:
                raise self.error(
                    "%s: priority '%s' is unknown: use 'primary', 'supplemental' or "
                    "'explicit'." % (where, priority), "priority"
                )
        if primaries:
            # a "default" source outranks "primary" ones; the other primaries stay searchable
            first = next((p for p in primaries if p[2]), primaries[0])
            defaults.append((first[0], first[1]))
            extras.extend(p[0] for p in primaries if p is not first)

    # -- value checks ---------------------------------------------------------------------
    def url(self, value: Any, where: str, needle: Optional[str]) -> str:
        if value is None:
            raise self.error(
                "%s needs a 'url' such as 'https://pypi.example.com/simple'." % where, needle
            )
        return self.checked(check_source_url, value, where, needle)

    def checked(self, check: Callable[[Any, str], str], value: Any, where: str,
                needle: Optional[str]) -> str:
        """`check(value, where)`, its error located in the file."""
        try:
            return check(value, where)
        except SpecError as err:
            raise self.error(error_reason(err), needle) from None

    def strings(self, value: Any, where: str, needle: str) -> List[str]:
        items = [value] if isinstance(value, str) else value
        if not isinstance(items, list) or not all(isinstance(v, str) for v in items):
            raise self.error("%s must be a string or a list of strings." % where, needle)
        return items

    def boolean(self, value: Any, where: str, needle: str) -> bool:
        if not isinstance(value, bool):
            raise self.error("%s must be true or false, got %r." % (where, value), needle)
        return value


def _entry_needle(entry: Dict[str, Any]) -> Optional[str]:
    """Text that locates an index entry in the file: its quoted name or url."""
    for key in ("url", "name"):
        if isinstance(entry.get(key), str):
            return '"%s"' % entry[key]
    return None


def parse_text(text: str, source: str) -> EnvSpec:
    """Parse the text of a pyproject.toml; `source` names it in error messages."""
    return _Parser(text, source).parse()


def parse_file(path: str) -> EnvSpec:
    """Read and parse a pyproject.toml."""
    return parse_text(read_spec_text(path), path)
