"""The package's layers: plumbing below the stages imports no stage, and no stage imports a
later one. Read from the source with `ast` (nothing is imported), so an import hidden inside a
function counts too; type-only imports under `if TYPE_CHECKING:` do not."""
import ast
from pathlib import Path
from typing import Iterable, Iterator, List, Optional, Tuple

import metaflow_extensions.envs.plugins.envs as envs_package

PACKAGE = "metaflow_extensions.envs"
ROOT = Path(envs_package.__file__).resolve().parents[2]  # .../metaflow_extensions/envs
ENVS = PACKAGE + ".plugins.envs"

# Lowest first. A module may import its own layer and those below it, never one above.
# ids.py (environment ids, aliases, @{VAR}) is pure and stdlib-only: every stage names things.
# kinds.py (the str enums: package kinds, Python sources, families, plan words) sits lowest, so
# that plumbing (the package cache) may name a kind too.
# layout.py (datastore keys, markers, cache folder names) imports nothing of ours: the node
# bootstrap reads it before anything else is importable, and every layer names places with it.
# lock.py is the data resolve produces, so it sits below resolve/, which builds it, and below
# store/ and hydrate/, which read it. verify/ hydrates what resolve made, beside the orchestrator.
LAYERS: List[Tuple[str, Tuple[str, ...]]] = [
    ("layout", (ENVS + ".layout",)),
    ("plumbing", (ENVS + ".plumbing", ENVS + ".auth", ENVS + ".errors", ENVS + ".settings", ENVS + ".settings_table",
                  ENVS + ".kinds", PACKAGE + ".config")),
    ("names", (ENVS + ".ids",)),
    ("spec", (ENVS + ".spec",)),
    ("lock", (ENVS + ".lock",)),
    ("resolve", (ENVS + ".resolve",)),
    ("store", (ENVS + ".store",)),
    ("hydrate", (ENVS + ".hydrate",)),
    ("environments", (ENVS + ".environments", ENVS + ".verify")),
    # cli/ is the library behind the command lines, without Metaflow (test_cli_imports_no_metaflow);
    # integration/ plugs into Metaflow and may use cli/; cmd/ (`metaflow environment`) sits on top.
    ("cli", (ENVS + ".cli",)),
    ("integration", (ENVS + ".integration", PACKAGE + ".plugins.mfextinit_envs", PACKAGE + ".toplevel")),
    ("cmd", (PACKAGE + ".cmd",)),
]
# Package __init__ files that only mark a folder: importing `from .. import settings` names them.
CONTAINERS = (PACKAGE, PACKAGE + ".plugins", ENVS)


def _rank(module: str) -> Optional[int]:
    for rank, (_, prefixes) in enumerate(LAYERS):
        if any(module == p or module.startswith(p + ".") for p in prefixes):
            return rank
    return None


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join([PACKAGE] + parts)


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _imports(nodes: Iterable[ast.AST]) -> Iterator[ast.stmt]:
    """Every import statement, at any depth, except those only for type checkers."""
    for node in nodes:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node
        elif isinstance(node, ast.If) and _is_type_checking(node):
            yield from _imports(node.orelse)
        else:
            yield from _imports(ast.iter_child_nodes(node))


def _targets(module: str, is_package: bool, node: ast.stmt) -> Iterator[str]:
    """The modules of ours an import statement loads."""
    if isinstance(node, ast.Import):
        yield from (alias.name for alias in node.names if alias.name.startswith(PACKAGE))
        return
    assert isinstance(node, ast.ImportFrom)
    if node.level:
        base = module.split(".")
        base = base[: len(base) - node.level + (1 if is_package else 0)]
        source = ".".join(base + ([node.module] if node.module else []))
    else:
        source = node.module or ""
    if not source.startswith(PACKAGE):
        return
    for alias in node.names:  # `from . import settings` loads the submodule `settings`
        yield source + "." + alias.name if source in CONTAINERS or _rank(source) is None else source


def _edges() -> Iterator[Tuple[str, str]]:
    for path in sorted(ROOT.rglob("*.py")):
        module = _module_name(path)
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        for node in _imports([tree]):
            for target in _targets(module, path.name == "__init__.py", node):
                yield module, target


def test_every_module_has_a_layer():
    modules = {_module_name(p) for p in ROOT.rglob("*.py")} - set(CONTAINERS)
    assert [m for m in sorted(modules) if _rank(m) is None] == []


def test_no_module_imports_a_higher_layer():
    wrong = sorted({
        "%s (%s) imports %s (%s)" % (source, LAYERS[_rank(source)][0], target, LAYERS[_rank(target)][0])
        for source, target in _edges()
        if _rank(source) is not None and _rank(target) is not None and _rank(target) > _rank(source)
    })
    assert wrong == []


def test_plumbing_imports_no_stage():
    assert (ROOT / "plugins" / "envs" / "plumbing").is_dir(), "the cache, downloads and tool runners live there"
    assert ["%s imports %s" % (s, t) for s, t in _edges() if s.startswith(ENVS + ".plumbing")
            and LAYERS[_rank(t)][0] not in ("layout", "plumbing")] == []


def _metaflow_imports(path: Path) -> Iterator[str]:
    """The `metaflow` modules (not ours, `metaflow_extensions`) a file imports, at any depth."""
    for node in _imports([ast.parse(path.read_text(encoding="utf-8"), str(path))]):
        names = [a.name for a in node.names] if isinstance(node, ast.Import) else (
            [node.module or ""] if not node.level else [])
        yield from (n for n in names if n == "metaflow" or n.startswith("metaflow."))


def test_cli_imports_no_metaflow():
    """cli/ runs without Metaflow: what needs it comes from the caller (cmd/, integration/)."""
    cli = ROOT / "plugins" / "envs" / "cli"
    assert cli.is_dir()
    assert ["%s imports %s" % (_module_name(p), m) for p in sorted(cli.rglob("*.py")) for m in _metaflow_imports(p)] == []


def test_layout_is_standard_library_only():
    """The node bootstrap imports layout.py before the tools (or anything but Metaflow) are there."""
    import sys

    path = ROOT / "plugins" / "envs" / "layout.py"
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    imported = {alias.name.split(".")[0] for node in _imports([tree]) if isinstance(node, ast.Import)
                for alias in node.names}
    imported |= {"." if node.level else (node.module or "").split(".")[0]
                 for node in _imports([tree]) if isinstance(node, ast.ImportFrom)}
    assert "." not in imported and "metaflow_extensions" not in imported and "metaflow" not in imported
    if hasattr(sys, "stdlib_module_names"):  # Python 3.10+
        assert sorted(m for m in imported if m not in sys.stdlib_module_names) == []
