"""The decorators' docstrings and docs/decorators.md come from one attribute table
(integration/attributes.py ATTRIBUTES): every attribute a decorator accepts is documented in
its docstring and in the page's table for its family, with the default it really has."""
import re
from pathlib import Path

import metaflow  # noqa: F401  (loads our decorators the way Metaflow does)
import pytest

from metaflow_extensions.envs.plugins.envs.integration import decorators as D
from metaflow_extensions.envs.plugins.envs.integration.attributes import attributes_of
from metaflow_extensions.envs.plugins.envs.integration.sys_packages import (SysPackagesFlowDecorator,
                                                                          SysPackagesStepDecorator)
from metaflow_extensions.envs.plugins.envs.kinds import Family

PAGE = Path(__file__).resolve().parents[2] / "docs" / "decorators.md"
DECORATORS = D.STEP_DECORATORS + D.FLOW_DECORATORS


def _documented(doc: str):
    """{name: default} of the numpydoc parameters of `doc`."""
    return dict(re.findall(r"^    (\w+) : [^\n]*?default (.+)$", doc, re.M))


# @sys_packages(_base) take one attribute, outside the table: their docstrings are checked too.
@pytest.mark.parametrize("deco", DECORATORS + (SysPackagesStepDecorator, SysPackagesFlowDecorator),
                         ids=lambda d: "@" + d.name)
def test_every_accepted_attribute_is_in_the_docstring_with_its_default(deco):
    shown = {k: "{}" if v == {} else "[]" if v == [] else repr(v) for k, v in deco.defaults.items()}
    assert _documented(deco.__doc__) == shown
    takes_a_lock = getattr(deco, "family", None) in (Family.CONDA, Family.PYPI)
    assert {"lockfile", "lock_extras", "lock_groups"} <= set(shown) or not takes_a_lock


def test_the_eight_decorators_are_all_there():
    assert sorted(d.name for d in DECORATORS) == ["conda", "conda_base", "named_env", "named_env_base", "pip",
                                                   "pip_base", "pypi", "pypi_base"]


def _page_table(heading: str):
    """{argument: default} of the table under `### heading` in docs/decorators.md."""
    section = PAGE.read_text(encoding="utf-8").split("### " + heading + "\n", 1)[1].split("\n### ", 1)[0]
    return dict(re.findall(r"^\| `(\w+)` \| `([^`]*)` \|", section, re.M))


@pytest.mark.parametrize("family, heading", [
    (Family.CONDA, "`@conda` / `@conda_base`"),
    (Family.PYPI, "`@pypi` / `@pypi_base` (and `@pip` / `@pip_base`, older names)"),
    (Family.NAMED, "`@named_env` / `@named_env_base`"),
])
def test_the_page_lists_what_the_table_holds(family, heading):
    table = {a.name: "{}" if a.default == {} else "[]" if a.default == [] else repr(a.default)
             for a in attributes_of(family)}
    assert _page_table(heading) == table
