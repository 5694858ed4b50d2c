"""The str enums of kinds.py write exactly the strings they replace: in JSON (locks, --json
output), in text (messages, `create --dry-run`), and as keys compared with strings read back."""
import json
from pathlib import Path

import pytest

from metaflow_extensions.envs.plugins.envs.cli.creating import render_plan
from metaflow_extensions.envs.plugins.envs.hydrate.plan import HydrationPlan, PackageStep
from metaflow_extensions.envs.plugins.envs.kinds import (Family, PackageKind, PlanReason, PlanSource, PrefixAction,
                                                         PythonSource)
from metaflow_extensions.envs.plugins.envs.lock import LockedPackage

MEMBERS = [m for enum in (PackageKind, PythonSource, Family, PlanSource, PlanReason, PrefixAction) for m in enum]


@pytest.mark.parametrize("member", MEMBERS, ids=lambda m: "%s.%s" % (type(m).__name__, m.name))
def test_a_member_is_its_value_everywhere(member):
    value = member.value
    assert member == value and hash(member) == hash(value) and {value: 1}[member] == 1
    assert str(member) == value and "%s" % member == value and f"{member}" == value
    assert "{:>12}".format(member) == "{:>12}".format(value) and member.ljust(20) == value.ljust(20)
    assert json.dumps(member) == json.dumps(value) and json.dumps({member: member}) == json.dumps({value: value})
    assert str(Path("/c") / member) == "/c/" + value


def test_the_words_are_those_written_in_locks_and_output():
    assert [m.value for m in PackageKind] == ["conda", "pypi"]
    assert [m.value for m in PythonSource] == ["conda", "system"]
    assert [m.value for m in Family] == ["conda", "pypi", "named_env"]
    assert [m.value for m in PlanSource] == ["cache", "store", "origin"]
    assert [m.value for m in PrefixAction] == ["nothing", "create", "re-create"]


def _package(kind: str) -> LockedPackage:
    return LockedPackage(kind=kind, name="six", version="1.16.0", build="py2.py3-none-any",
                         filename="six-1.16.0-py2.py3-none-any.whl", url="https://h/six-1.16.0-py2.py3-none-any.whl",
                         sha256="a" * 64)


def test_a_package_made_with_the_enum_serialises_as_one_made_with_the_string():
    made, read_back = _package(PackageKind.PYPI), _package("pypi")
    assert json.dumps(made.to_dict(), sort_keys=True) == json.dumps(read_back.to_dict(), sort_keys=True)
    assert made.identity() == read_back.identity() and made == read_back


def test_the_dry_run_text_shows_the_bare_words():
    pkg = _package(PackageKind.PYPI)
    steps = HydrationPlan(Path("/p"), PrefixAction.CREATE, "it does not exist",
                          (PackageStep(pkg, pkg, PlanSource.ORIGIN, PlanReason.NO_STORE),))
    assert render_plan(steps).splitlines() == [
        "Would create /p (it does not exist):",
        "  origin  six  1.16.0  pypi  missing locally (no datastore)",
        "1 packages: 0 from the local cache, 0 from the datastore, 1 from their origin.",
    ]
    assert json.loads(json.dumps(steps.to_dict()))["packages"][0]["source"] == "origin"
