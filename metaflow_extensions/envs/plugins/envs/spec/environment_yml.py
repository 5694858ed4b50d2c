"""environment.yml (conda's environment file) → EnvSpec.

Read: `channels` (in priority order; `nodefaults` is dropped, as we never add `defaults`
implicitly), `pypi-indices` (extra PyPI indexes, searched with the default one, as the
reference extension reads them) and `dependencies`, a list of Conda specs (`pkg`, `pkg=1.2`, `pkg==1.2`, `pkg>=1`,
`pkg = >=1`, `pkg=>=1.0`, `chan::pkg`, `chan::pkg = 3.32.0`, virtual packages such as
`__glibc>=2.17`) with an optional `- pip: [...]` entry whose lines follow requirements.txt's
rules (options such as `--extra-index-url` included), plus `name = 1.2` meaning `name==1.2`.
`sys` lists the virtual packages the target machines provide (`- __cuda==12.4`), either as a
top-level section or, as the reference extension reads it, as a `- sys: [...]` entry of
`dependencies` (a virtual package among the dependencies themselves, `__glibc>=2.17`, is a
requirement on the target instead).

`python` in the dependencies becomes EnvSpec.python; `pip` is a Conda package like any other
(PyPI packages are installed with uv, but a user who lists pip gets it). `name` is accepted and not used (environments are named by aliases).
Any other top-level section (`prefix`, `variables`, a misspelt one) is not used, and each
gives a warning naming it (EnvSpec.warnings): nothing the user wrote is dropped silently.

We walk YAML's node tree (`yaml.compose`) rather than loaded values so that every error can
name the line it comes from.
"""
from dataclasses import replace
from typing import Callable, Dict, List, Optional, Tuple

import yaml

from ..errors import SpecError
from .model import CondaDep, EnvSpec, check_source_url, origins_of, parse_channel
from .requirements_txt import RequirementLines, error_reason, located, located_error, read_spec_text

_STR_TAG = "tag:yaml.org,2002:str"
_NULL_TAG = "tag:yaml.org,2002:null"
_READ = ("name", "channels", "pypi-indices", "dependencies", "sys")
# Sections conda knows that we do not use, and what to do instead.
_NOT_USED = {
    "prefix": "environments live in metaflow-envs' cache; use 'metaflow environment create "
    "--prefix DIR' to create one at a path",
    "variables": "metaflow-envs sets no environment variables in its environments; set them in "
    "the step (e.g. with @environment)",
}
_EXAMPLE = (
    "write e.g. 'channels: [conda-forge]' and 'dependencies: [pandas>=1.0, {pip: [requests]}]'."
)


def _line(node: yaml.Node) -> int:
    return node.start_mark.line + 1


def _is_null(node: yaml.Node) -> bool:
    return isinstance(node, yaml.ScalarNode) and node.tag == _NULL_TAG


def _kind(node: yaml.Node) -> str:
    if isinstance(node, yaml.MappingNode):
        return "a mapping"
    if isinstance(node, yaml.SequenceNode):
        return "a list"
    if _is_null(node):
        return "nothing"
    return "'%s'" % node.value


class _Parser:
    def __init__(self, source: str) -> None:
        self.source = source
        self.lines = RequirementLines(source, loose_pins=True, allow_conda_pkg=False)

    def error(self, node: Optional[yaml.Node], message: str) -> SpecError:
        return located_error(self.source, _line(node) if node is not None else None, message)

    def string(self, node: yaml.Node, what: str) -> str:
        if not isinstance(node, yaml.ScalarNode) or node.tag != _STR_TAG:
            raise self.error(
                node, "%s must be text, got %s: quote it or fix the indentation."
                % (what, _kind(node)),
            )
        return node.value

    def parse(self, text: str) -> EnvSpec:
        try:
            root = yaml.compose(text, Loader=yaml.SafeLoader)
        except yaml.YAMLError as err:
            raise self._yaml_error(err) from None
        if root is None:
            raise located_error(self.source, None, "the file is empty: " + _EXAMPLE)
        if not isinstance(root, yaml.MappingNode):
            raise self.error(
                root, "expected a mapping with 'channels:' and 'dependencies:' at the top "
                "level, got %s: %s" % (_kind(root), _EXAMPLE),
            )
        sections = self.sections(root)
        if "name" in sections and not _is_null(sections["name"][1]):
            self.string(sections["name"][1], "'name'")
        channels = self.channels(sections.get("channels"))
        indexes = self.pypi_indices(sections.get("pypi-indices"))
        if "dependencies" not in sections or _is_null(sections["dependencies"][1]):
            node = sections["dependencies"][0] if "dependencies" in sections else None
            raise self.error(node, "no 'dependencies:' listed: " + _EXAMPLE)
        self.dependencies(sections["dependencies"][1])
        if "sys" in sections:
            self.sys_section(sections["sys"][1])
        spec = self.lines.spec()
        sources = spec.pypi_sources
        return EnvSpec(
            conda_deps=spec.conda_deps,
            pypi_deps=spec.pypi_deps,
            channels=channels,
            pypi_sources=replace(sources, extra_index_urls=tuple(dict.fromkeys(indexes + sources.extra_index_urls)),
                                 origins=origins_of(indexes, "pypi-indices in %s" % self.source) + sources.origins),
            python=spec.python,
            sys_packages=spec.sys_packages,
            warnings=self.unused(sections),
        )

    def unused(self, sections: Dict[str, Tuple[yaml.Node, yaml.Node]]) -> Tuple[str, ...]:
        """One warning per section we do not read."""
        out = []
        for name, (key, _) in sections.items():
            if name in _READ:
                continue
            why = _NOT_USED.get(name) or "metaflow-envs does not know it; check its spelling (read: %s)" % (
                ", ".join(_READ))
            out.append(located(self.source, _line(key), "section '%s:' is ignored: %s." % (name, why)))
        return tuple(out)

    def _yaml_error(self, err: yaml.YAMLError) -> SpecError:
        mark = getattr(err, "problem_mark", None)
        problem = getattr(err, "problem", None) or str(err)
        context = getattr(err, "context", None)
        if context:
            problem = "%s %s" % (context, problem)
        return located_error(
            self.source, mark.line + 1 if mark else None,
            "not valid YAML (%s): check the indentation and quoting there." % problem,
        )

    def sections(self, root: yaml.MappingNode) -> Dict[str, Tuple[yaml.Node, yaml.Node]]:
        found: Dict[str, Tuple[yaml.Node, yaml.Node]] = {}
        for key, value in root.value:
            name = self.string(key, "a top-level key")
            if name in found:
                # safe_load would silently keep the last one
                raise self.error(
                    key, "'%s:' appears twice (first on line %d): merge them into one."
                    % (name, _line(found[name][0])),
                )
            found[name] = (key, value)
        return found

    def channels(self, entry: Optional[Tuple[yaml.Node, yaml.Node]]) -> Tuple[str, ...]:
        found = self.string_list(entry, "'channels:' must be a list, e.g. 'channels: [conda-forge]'",
                                 "a channel", lambda text: parse_channel(text) or "")
        return tuple(c for c in found if c)  # `nodefaults` reads as ""

    def pypi_indices(self, entry: Optional[Tuple[yaml.Node, yaml.Node]]) -> Tuple[str, ...]:
        """`pypi-indices:`, a list of index URLs searched besides the default index."""
        return self.string_list(
            entry, "'pypi-indices:' must be a list of index URLs, e.g. 'pypi-indices: "
            "[https://pypi.example.com/simple]'", "a PyPI index",
            lambda text: check_source_url(text, "pypi-indices entry"))

    def string_list(self, entry: Optional[Tuple[yaml.Node, yaml.Node]], must: str, what: str,
                    check: Callable[[str], str]) -> Tuple[str, ...]:
        """A section holding a list of strings, each passed through `check` (whose
        SpecError is located at its item), without repeats."""
        if entry is None or _is_null(entry[1]):
            return ()
        node = entry[1]
        if not isinstance(node, yaml.SequenceNode):
            raise self.error(node, "%s; got %s." % (must, _kind(node)))
        out: List[str] = []
        for item in node.value:
            text = self.string(item, what)
            try:
                out.append(check(text))
            except SpecError as err:
                raise self.error(item, error_reason(err)) from None
        return tuple(dict.fromkeys(out))

    def dependencies(self, node: yaml.Node) -> None:
        if not isinstance(node, yaml.SequenceNode):
            raise self.error(
                node, "'dependencies:' must be a list ('- pkg' lines), got %s." % _kind(node)
            )
        for item in node.value:
            if isinstance(item, yaml.MappingNode):
                self.pip_section(item)
                continue
            text = self.string(item, "a dependency")
            try:
                dep = CondaDep.parse(text)
            except SpecError as err:
                raise self.error(item, error_reason(err)) from None
            self.lines.add_conda(dep, _line(item))

    def pip_section(self, node: yaml.MappingNode) -> None:
        for key, value in node.value:
            name = self.string(key, "a key in dependencies")
            if name == "sys":
                self.sys_section(value)
                continue
            if name != "pip":
                raise self.error(
                    key, "unknown entry '%s:' in dependencies: only '- pip:' and '- sys:' may hold a "
                    "list; write Conda packages as '- %s' items." % (name, name),
                )
            if _is_null(value):
                continue
            if not isinstance(value, yaml.SequenceNode):
                raise self.error(
                    value, "'pip:' must be a list of requirements ('- requests>=2'), got %s."
                    % _kind(value),
                )
            for item in value.value:
                self.lines.add(self.string(item, "a pip requirement"), _line(item))


    def sys_section(self, node: yaml.Node) -> None:
        """`sys:`, the virtual packages the target provides, e.g. `- __cuda==12.4`."""
        if _is_null(node):
            return
        if not isinstance(node, yaml.SequenceNode):
            raise self.error(node, "'sys:' must be a list such as 'sys: [\"__cuda==12.4\"]', got %s." % _kind(node))
        for item in node.value:
            self.lines.add_sys(self.string(item, "a system package"), _line(item))


def parse_text(text: str, source: str) -> EnvSpec:
    """Parse the text of an environment.yml; `source` names it in error messages."""
    return _Parser(source).parse(text)


def parse_file(path: str) -> EnvSpec:
    """Read and parse an environment.yml."""
    return parse_text(read_spec_text(path), path)
