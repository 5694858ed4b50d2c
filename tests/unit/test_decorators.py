"""The decorator layer: attribute → EnvSpec conversion, the merge rules (request_for_step
and friends, pure) and the Metaflow decorator classes.

The decorator-class tests build decorators directly and call `step_init`/`flow_init` with a
minimal fake flow object (only `_flow_decorators`) — the Flow is mocked there on purpose, to
test the classes without registering them. One test uses a real FlowSpec with Metaflow's own
decorator machinery; tests/e2e/test_decorator_flows.py runs tests/e2e/flows/decorator_*.py as
real flows.
"""
import os
import types
from functools import partial

import metaflow  # noqa: F401  first: once registered, Metaflow's plugin loading imports decorators.py
import pytest

from metaflow_extensions.envs.plugins.envs.errors import SpecError
from metaflow_extensions.envs.plugins.envs.integration import decorators as D
from metaflow_extensions.envs.plugins.envs.integration.decorator_rules import (
    DecoratorAttrs,
    StepEnvRequest,
    check_flow_decorators,
    check_step_decorators,
    conda_dep_from_item,
    defaults_for,
    pypi_dep_from_item,
    python_version_spec,
    request_for_step,
    spec_from_attributes,
    validate_flow_decorators,
)
from metaflow_extensions.envs.plugins.envs.kinds import Family
from metaflow_extensions.envs.plugins.envs.spec import (
    ENV_TYPE_CONDA,
    ENV_TYPE_MIXED,
    ENV_TYPE_PYPI,
    CondaDep,
    EnvSpec,
)

# The environment object as step_init sees it (only its TYPE matters to the decorators).
_ENV = types.SimpleNamespace(TYPE="conda")


def conda_names(spec: EnvSpec) -> dict:
    return {d.name: d.version for d in spec.conda_deps}


def pypi_reqs(spec: EnvSpec) -> dict:
    return {d.name: d.requirement for d in spec.pypi_deps}


def merge(step_attrs=None, step_family=None, flow_attrs=None, flow_family=None, user_set=None, *,
          named_attrs=None, step_label=None, flow_label=None, pypi_attrs=None, pypi_base_attrs=None):
    """The request of step 'train' from one decorator of each kind given (`pypi_attrs`: a
    @pypi next to the step's @conda, `pypi_base_attrs`: a @pypi_base next to @conda_base)."""
    flow, step = [], []
    if flow_attrs is not None:
        flow.append(DecoratorAttrs(flow_label or "@%s_base" % flow_family, flow_family, flow_attrs))
    if pypi_base_attrs is not None:
        flow.append(DecoratorAttrs("@pypi_base", Family.PYPI, pypi_base_attrs))
    if step_attrs is not None:
        user_set = set(step_attrs) if user_set is None else user_set
        step.append(DecoratorAttrs(step_label or "@" + step_family, step_family, step_attrs, frozenset(user_set)))
    if pypi_attrs is not None:
        step.append(DecoratorAttrs("@pypi", Family.PYPI, pypi_attrs, frozenset(pypi_attrs)))
    if named_attrs is not None:
        step.append(DecoratorAttrs("@named_env", Family.NAMED, named_attrs, frozenset(named_attrs)))
    return request_for_step("train", flow, step)


# ------------------------------------------------------------------------------------------
# attribute → dependency conversion


@pytest.mark.parametrize(
    "key, version, name, spec, channel",
    [
        ("pandas", "", "pandas", None, None),
        ("pandas", "1.4.2", "pandas", "==1.4.2", None),  # a bare version pins it
        ("pandas", "1.4", "pandas", "==1.4", None),
        ("pandas", ">=1.4", "pandas", ">=1.4", None),
        ("pandas", ">=1.5,<2", "pandas", ">=1.5,<2", None),
        ("pandas", "1.4.*", "pandas", "1.4.*", None),
        ("pandas", "=1.4", "pandas", "1.4.*", None),  # conda's fuzzy `=` kept for who writes it
        ("pandas", "==1.4", "pandas", "==1.4", None),
        ("PyYAML", "6.0", "pyyaml", "==6.0", None),
        ("comet_ml::comet_ml", "3.32.0", "comet_ml", "==3.32.0", "comet_ml"),
        ("conda-forge::numpy", "", "numpy", None, "conda-forge"),
    ],
)
def test_conda_dep_from_item(key, version, name, spec, channel):
    dep = conda_dep_from_item(key, version)
    assert (dep.name, dep.version, dep.channel) == (name, spec, channel)


@pytest.mark.parametrize(
    "key, version, requirement",
    [
        ("requests", "", "requests"),
        ("requests", "2.31", "requests==2.31"),  # exact for PyPI
        ("requests", "2.31.0", "requests==2.31.0"),
        ("requests", ">=2,<3", "requests<3,>=2"),
        ("requests", "~=2.31", "requests~=2.31"),
        ("requests", "==2.31", "requests==2.31"),
        ("requests[socks]", "2.31", "requests[socks]==2.31"),
        ("requests", ">=2; python_version < '3.12'", 'requests>=2; python_version < "3.12"'),
        ("mypkg", "git+https://github.com/me/mypkg@v1", "mypkg @ git+https://github.com/me/mypkg@v1"),
        ("mypkg", "https://host/mypkg-1.0-py3-none-any.whl",
         "mypkg @ https://host/mypkg-1.0-py3-none-any.whl"),
        ("mypkg", "@ https://host/mypkg.tar.gz", "mypkg @ https://host/mypkg.tar.gz"),
    ],
)
def test_pypi_dep_from_item(key, version, requirement):
    assert pypi_dep_from_item(key, version).requirement == requirement


def test_pypi_dep_names_are_canonical():
    assert pypi_dep_from_item("Foo_Bar", "1.0").name == "foo-bar"


@pytest.mark.parametrize(
    "func, key, version, message",
    [
        (conda_dep_from_item, "numpy>=1.2", "", "put|version as the value"),
        (conda_dep_from_item, "::numpy", "", "not a Conda package name"),
        (conda_dep_from_item, "python", "3.10", "python='3.10'"),
        (conda_dep_from_item, "numpy", "=", "Missing version"),
        (pypi_dep_from_item, "numpy>=1.2", "", "version as the value"),
        (pypi_dep_from_item, "python", "", "python='3.10'"),
        (pypi_dep_from_item, "requests", "latest", "not a version"),
        (pypi_dep_from_item, "requests", ">=>2", "Malformed PyPI requirement"),
    ],
)
def test_bad_dependency_items(func, key, version, message):
    with pytest.raises(SpecError, match=message):
        func(key, version)


@pytest.mark.parametrize(
    "text, spec",
    [("3.10", "3.10.*"), ("3.10.4", "3.10.4.*"), (">=3.9,<3.12", ">=3.9,<3.12"),
     ("==3.10.4", "==3.10.4"), ("3.10.*", "3.10.*"), ("=3.11", "3.11.*"), (" 3.9 ", "3.9.*")],
)
def test_python_version_spec(text, spec):
    assert python_version_spec(text) == spec


def test_spec_from_conda_attributes():
    spec = spec_from_attributes(Family.CONDA, {
        "libraries": {"pandas": "1.4.2", "comet_ml::comet_ml": ""},
        "channels": ["conda-forge", "bioconda"],
        "pip_packages": {"requests": ">=2.31"},
        "pip_sources": ["https://idx.example/simple"],
        "python": "3.10",
    })
    assert conda_names(spec) == {"pandas": "==1.4.2", "comet_ml": None}
    assert [d.channel for d in spec.conda_deps] == [None, "comet_ml"]
    assert pypi_reqs(spec) == {"requests": "requests>=2.31"}
    assert spec.channels == ("conda-forge", "bioconda")
    assert spec.pypi_sources.extra_index_urls == ("https://idx.example/simple",)
    assert spec.python == "3.10.*"
    assert spec.env_type == ENV_TYPE_MIXED


def test_spec_from_conda_attributes_conda_only_and_packages_alias():
    spec = spec_from_attributes(Family.CONDA, {"libraries": {"numpy": ""}, "packages": {"scipy": "1.11"}})
    assert conda_names(spec) == {"numpy": None, "scipy": "==1.11"}
    assert spec.env_type == ENV_TYPE_CONDA and spec.python is None


def test_spec_from_conda_attributes_same_package_in_libraries_and_packages():
    with pytest.raises(SpecError, match="both libraries and packages"):
        spec_from_attributes(Family.CONDA, {"libraries": {"numpy": ""}, "packages": {"numpy": "1"}})


def test_spec_from_pypi_attributes_has_only_pypi_deps():
    spec = spec_from_attributes(Family.PYPI, {
        "packages": {"requests": "2.31", "pandas": ""},
        "extra_indices": ["https://a.example/simple"],
        "sources": ["https://b.example/simple", "https://a.example/simple"],
        "python": "3.11",
    })
    assert spec.conda_deps == () and spec.channels == ()
    assert pypi_reqs(spec) == {"requests": "requests==2.31", "pandas": "pandas"}
    assert spec.pypi_sources.extra_index_urls == ("https://a.example/simple", "https://b.example/simple")
    assert spec.python == "3.11.*"
    assert spec.env_type == ENV_TYPE_PYPI


def test_spec_from_named_attributes_is_none():
    assert spec_from_attributes(Family.NAMED, {"name": "team/env"}) is None
    assert spec_from_attributes(Family.CONDA, {"name": "team/env", "fetch_at_exec": True}) is None


def test_empty_spec_from_bare_decorator():
    assert spec_from_attributes(Family.CONDA, {}) == EnvSpec()


@pytest.mark.parametrize(
    "family, attrs, message",
    [
        (Family.CONDA, {"libraries": ["numpy"]}, "libraries must be a dict"),
        (Family.CONDA, {"channels": "conda-forge"}, r"channels must be a list of strings, e.g. channels=\['conda-forge'\]"),
        (Family.CONDA, {"libraries": {"numpy": 1.21}}, "version of 'numpy' in libraries must be a string"),
        (Family.CONDA, {"python": 3.10}, "python must be a string such as '3.10'.*3.1"),
        (Family.CONDA, {"python": "three"}, "python: 'three' is not a Python version"),
        (Family.CONDA, {"disabled": "yes"}, "disabled must be True or False"),
        (Family.CONDA, {"libraries": {3: ""}}, "must be strings"),
        (Family.CONDA, {"extra_indices": []}, "has no attribute 'extra_indices'"),
        (Family.PYPI, {"libraries": {}}, "has no attribute 'libraries'"),
        (Family.PYPI, {"packages": {"numpy": "one"}}, "@pypi, packages: 'one' is not a version"),
        (Family.NAMED, {"python": "3.10"}, "has no attribute 'python'"),
        (Family.CONDA, {"libraries": {"numpy>=1": ""}}, r"\{'pandas': '>=1.4'\}"),
    ],
)
def test_bad_attributes(family, attrs, message):
    with pytest.raises(SpecError, match=message):
        spec_from_attributes(family, attrs)


def test_bool_attributes_accept_metaflow_spec_strings():
    # `--with conda:disabled=True` arrives as the string "True".
    assert merge({"disabled": "True"}, Family.CONDA).disabled is True
    assert merge({"disabled": "false", "libraries": {"a": ""}}, Family.CONDA).disabled is False


def test_defaults_for_returns_fresh_copies():
    first = defaults_for(Family.CONDA)
    first["libraries"]["x"] = "1"
    assert defaults_for(Family.CONDA)["libraries"] == {}
    assert set(defaults_for(Family.PYPI)) == {"packages", "extra_indices", "sources", "extras", "conda_only", "requirements", "python",
                                              "disabled", "name", "pathspec", "fetch_at_exec", "lockfile",
                                              "lock_extras", "lock_groups"}
    assert set(defaults_for(Family.NAMED)) == {"name", "pathspec", "fetch_at_exec"}


# ------------------------------------------------------------------------------------------
# request_for_step — rule 1: flow-level applies to every step, the step merges on top


def test_no_decorators_no_request():
    assert merge() is None


def test_flow_only_applies_to_step():
    req = merge(flow_attrs={"libraries": {"pandas": "1.4.2"}, "python": "3.10"}, flow_family=Family.CONDA)
    assert req == StepEnvRequest("train", Family.CONDA, False, spec_from_attributes(
        Family.CONDA, {"libraries": {"pandas": "1.4.2"}, "python": "3.10"}), None, None, False)


def test_step_only():
    req = merge({"packages": {"requests": ""}}, Family.PYPI)
    assert req.family == Family.PYPI and not req.disabled and req.base is None
    assert pypi_reqs(req.spec) == {"requests": "requests"}


def test_bare_step_decorator_without_flow_gives_empty_spec():
    req = merge({}, Family.CONDA)
    assert req.spec == EnvSpec() and not req.disabled


def test_step_wins_for_same_package_and_unions_the_rest():
    req = merge(
        {"libraries": {"numpy": "1.26", "scipy": ""}, "channels": ["bioconda", "conda-forge"],
         "pip_packages": {"Foo_Bar": "2"}, "pip_sources": ["https://step/simple"]},
        Family.CONDA,
        {"libraries": {"numpy": "1.21", "pandas": ""}, "channels": ["conda-forge", "pytorch"],
         "pip_packages": {"foo-bar": "1", "six": ""}, "pip_sources": ["https://flow/simple", "https://step/simple"]},
        Family.CONDA,
    )
    assert conda_names(req.spec) == {"numpy": "==1.26", "pandas": None, "scipy": None}
    assert req.spec.channels == ("bioconda", "conda-forge", "pytorch")  # step's first
    assert pypi_reqs(req.spec) == {"foo-bar": "Foo_Bar==2", "six": "six"}
    assert req.spec.pypi_sources.extra_index_urls == ("https://step/simple", "https://flow/simple")


def test_channel_qualified_step_package_replaces_flow_one():
    req = merge({"libraries": {"conda-forge::numpy": "2"}}, Family.CONDA,
                {"libraries": {"numpy": "1"}}, Family.CONDA)
    assert req.spec.conda_deps == (CondaDep("numpy", "==2", "conda-forge"),)


@pytest.mark.parametrize("step_python, flow_python, expected", [
    ("3.11", "3.10", "3.11.*"), (None, "3.10", "3.10.*"), ("3.11", None, "3.11.*"), (None, None, None),
])
def test_python_step_else_flow(step_python, flow_python, expected):
    req = merge({"python": step_python, "libraries": {"a": ""}}, Family.CONDA,
                {"python": flow_python}, Family.CONDA)
    assert req.spec.python == expected


def test_pypi_step_and_pypi_flow_merge():
    req = merge({"packages": {"requests": "2.31"}, "extra_indices": ["https://s/simple"]}, Family.PYPI,
                {"packages": {"requests": "2.0", "six": ""}, "sources": ["https://f/simple"]}, Family.PYPI)
    assert pypi_reqs(req.spec) == {"requests": "requests==2.31", "six": "six"}
    assert req.spec.conda_deps == ()
    assert req.spec.pypi_sources.extra_index_urls == ("https://s/simple", "https://f/simple")


# rule 2: enabling and disabling


def test_step_attribute_enables_under_disabled_flow():
    req = merge({"libraries": {"numpy": ""}}, Family.CONDA,
                {"libraries": {"pandas": ""}, "disabled": True}, Family.CONDA)
    assert not req.disabled
    assert conda_names(req.spec) == {"numpy": None, "pandas": None}


def test_step_disabled_false_enables_with_flow_packages():
    req = merge({"disabled": False}, Family.CONDA, {"libraries": {"pandas": ""}, "disabled": True}, Family.CONDA)
    assert not req.disabled and conda_names(req.spec) == {"pandas": None}


def test_bare_step_under_disabled_flow_is_disabled():
    req = merge({}, Family.CONDA, {"libraries": {"pandas": ""}, "disabled": True}, Family.CONDA)
    assert req == StepEnvRequest("train", Family.CONDA, True, None, None, None, False)


def test_step_setting_disabled_none_counts_as_unset():
    req = merge({"disabled": None}, Family.CONDA, {"disabled": True}, Family.CONDA, user_set={"disabled"})
    assert req.disabled


def test_step_disabled_runs_in_outer_python():
    req = merge({"disabled": True}, Family.PYPI, {"packages": {"a": ""}}, Family.PYPI)
    assert req == StepEnvRequest("train", Family.PYPI, True, None, None, None, False)


def test_step_disabled_even_with_packages():
    req = merge({"disabled": True, "packages": {"a": ""}}, Family.PYPI)
    assert req.disabled and req.spec is None


def test_no_step_decorator_under_disabled_flow_is_disabled():
    req = merge(flow_attrs={"disabled": True, "libraries": {"a": ""}}, flow_family=Family.CONDA)
    assert req.disabled and req.spec is None


def test_user_set_only_counts_with_step_decorator_values():
    # Values given without being marked as user-set still count: content enables the step.
    req = merge({"libraries": {"a": ""}}, Family.CONDA, {"disabled": True}, Family.CONDA, user_set=set())
    assert not req.disabled


# rule 3: names and pathspecs stand alone


@pytest.mark.parametrize("attrs, attr", [
    ({"name": "team/env", "libraries": {"numpy": ""}}, "libraries"),
    ({"name": "team/env", "python": "3.10"}, "python"),
    ({"pathspec": "MyFlow/1/start", "channels": ["c"]}, "channels"),
    ({"name": "team/env", "pip_packages": {"a": ""}}, "pip_packages"),
])
def test_name_with_other_attributes_is_an_error(attrs, attr):
    with pytest.raises(SpecError, match=r"@conda on step 'train' sets (name|pathspec)= together with %s" % attr):
        merge(attrs, Family.CONDA)


def test_name_with_pypi_packages_is_an_error():
    with pytest.raises(SpecError, match="together with packages"):
        merge({"name": "team/env", "packages": {"a": ""}}, Family.PYPI)


def test_name_with_empty_other_attributes_is_fine():
    req = merge({"name": "team/env", "libraries": {}, "channels": [], "python": None}, Family.CONDA)
    assert req.base == "team/env" and req.spec is None


def test_name_and_pathspec_is_an_error():
    with pytest.raises(SpecError, match="sets both name= and pathspec=: keep one"):
        merge({"name": "team/env", "pathspec": "MyFlow/1/start"}, Family.NAMED)


def test_name_with_fetch_at_exec_is_fine():
    req = merge({"name": "team/env:stable", "fetch_at_exec": True}, Family.CONDA)
    assert req == StepEnvRequest("train", Family.CONDA, False, None, "team/env:stable", "generic", True)


def test_step_name_replaces_flow_packages():
    req = merge({"name": "team/env"}, Family.NAMED, {"libraries": {"pandas": ""}, "python": "3.10"}, Family.CONDA)
    assert req == StepEnvRequest("train", Family.CONDA, False, None, "team/env", "generic", False)


def test_pathspec_kind():
    req = merge({"pathspec": "MyFlow/12/start"}, Family.NAMED)
    assert (req.base, req.base_kind, req.family) == ("MyFlow/12/start", "pathspec", Family.NAMED)


@pytest.mark.parametrize("attrs, message", [
    ({"name": "Team Env"}, "name: Invalid environment name 'Team Env'"),
    ({"name": "team/env:Bad"}, "name: Invalid environment name"),
    ({"pathspec": "not-a-pathspec"}, "pathspec: Invalid pathspec"),
    ({"name": "team/@{1X}"}, "not a variable"),
    ({"name": "team/@{X"}, "unclosed"),
])
def test_bad_names(attrs, message):
    with pytest.raises(SpecError, match=message):
        merge(attrs, Family.NAMED)


def test_names_with_variables_are_checked_later():
    req = merge({"name": "team/@{USER}:@{TAG}", "fetch_at_exec": True}, Family.NAMED)
    assert req.base == "team/@{USER}:@{TAG}" and req.fetch_at_exec


def test_named_env_needs_a_name():
    with pytest.raises(SpecError, match="@named_env on step 'train' needs name="):
        merge({"fetch_at_exec": False}, Family.NAMED)
    with pytest.raises(SpecError, match="@named_env_base on the flow needs name="):
        merge(flow_attrs={}, flow_family=Family.NAMED)


# rule 4: mixing — @conda and @pypi (on the flow, the step, or both) make one environment


def test_pypi_base_with_conda_step_mixes():
    req = merge({"libraries": {"numpy": "1.26"}, "channels": ["bioconda"]}, Family.CONDA,
                {"packages": {"requests": "2.31"}, "extra_indices": ["https://f/simple"], "python": "3.10"},
                Family.PYPI)
    assert (req.family, req.disabled, req.base) == (Family.CONDA, False, None)
    assert conda_names(req.spec) == {"numpy": "==1.26"} and req.spec.channels == ("bioconda",)
    assert pypi_reqs(req.spec) == {"requests": "requests==2.31"}
    assert req.spec.pypi_sources.extra_index_urls == ("https://f/simple",)
    assert req.spec.python == "3.10.*" and req.spec.env_type == ENV_TYPE_MIXED


def test_conda_base_with_pypi_step_mixes():
    req = merge({"packages": {"requests": "2.31"}}, Family.PYPI,
                {"libraries": {"numpy": "1.26"}, "pip_packages": {"six": ""}, "python": "3.10"}, Family.CONDA)
    assert req.family == Family.CONDA
    assert conda_names(req.spec) == {"numpy": "==1.26"}
    assert pypi_reqs(req.spec) == {"requests": "requests==2.31", "six": "six"}
    assert req.spec.python == "3.10.*"


def test_conda_and_pypi_on_one_step_mix_with_the_base():
    req = merge({"libraries": {"numpy": "1.26"}, "python": "3.10"}, Family.CONDA,
                {"libraries": {"pandas": ""}, "pip_packages": {"six": ""}}, Family.CONDA,
                pypi_attrs={"packages": {"requests": ""}, "extra_indices": ["https://s/simple"],
                            "python": "3.10"})
    assert (req.family, req.disabled) == (Family.CONDA, False)
    assert conda_names(req.spec) == {"numpy": "==1.26", "pandas": None}
    assert pypi_reqs(req.spec) == {"requests": "requests", "six": "six"}
    assert req.spec.pypi_sources.extra_index_urls == ("https://s/simple",)
    assert req.spec.python == "3.10.*"


def test_conda_base_and_pypi_base_on_the_flow_mix():
    req = merge(flow_attrs={"libraries": {"numpy": ""}}, flow_family=Family.CONDA,
                pypi_base_attrs={"packages": {"requests": ""}})
    assert conda_names(req.spec) == {"numpy": None} and pypi_reqs(req.spec) == {"requests": "requests"}


@pytest.mark.parametrize("step, flow, pypi_base", [
    # the step's PyPI version wins over the base's, whichever decorator the base used
    (({"packages": {"requests": "2.31"}}, Family.PYPI), ({"pip_packages": {"requests": "2.0"}}, Family.CONDA), None),
    (({"pip_packages": {"requests": "2.31"}}, Family.CONDA), ({"packages": {"requests": "2.0"}}, Family.PYPI), None),
    (({"packages": {"requests": "2.31"}}, Family.PYPI), ({}, Family.CONDA), {"packages": {"requests": "2.0"}}),
])
def test_step_pypi_package_overrides_the_base_across_decorators(step, flow, pypi_base):
    req = merge(*step, *flow, pypi_base_attrs=pypi_base)
    assert pypi_reqs(req.spec) == {"requests": "requests==2.31"}


def test_step_conda_package_overrides_a_mixed_base():
    req = merge({"libraries": {"numpy": "2.1"}}, Family.CONDA, {"libraries": {"numpy": "1.26"}}, Family.CONDA,
                pypi_base_attrs={"packages": {"requests": ""}})
    assert conda_names(req.spec) == {"numpy": "==2.1"} and pypi_reqs(req.spec) == {"requests": "requests"}


def test_step_python_overrides_the_base_across_decorators():
    req = merge({"packages": {"a": ""}, "python": "3.11"}, Family.PYPI, {"python": "3.10"}, Family.CONDA)
    assert req.spec.python == "3.11.*"


@pytest.mark.parametrize("kw, where", [
    (dict(step_attrs={"python": "3.10"}, step_family=Family.CONDA, pypi_attrs={"python": "3.11"}),
     "@conda on step 'train' asks for python='3.10' but @pypi on step 'train' for python='3.11'"),
    (dict(flow_attrs={"python": "3.10"}, flow_family=Family.CONDA, pypi_base_attrs={"python": "3.9"}),
     "@conda_base on the flow asks for python='3.10' but @pypi_base on the flow for python='3.9'"),
])
def test_python_on_conda_and_pypi_side_by_side_must_agree(kw, where):
    with pytest.raises(SpecError) as err:
        merge(**kw)
    assert where in err.value.message and "give the same version on both" in err.value.message


def test_python_on_conda_and_pypi_side_by_side_agreeing_is_fine():
    req = merge({"python": "3.10"}, Family.CONDA, pypi_attrs={"python": "3.10.*", "packages": {"a": ""}})
    assert req.spec.python == "3.10.*"


def test_same_pypi_package_in_conda_and_pypi_on_one_step_is_an_error():
    with pytest.raises(SpecError, match="@conda on step 'train' lists 'six' in pip_packages and @pypi on "
                                        "step 'train' in packages: keep each PyPI package in one"):
        merge({"pip_packages": {"Six": "1"}}, Family.CONDA, pypi_attrs={"packages": {"six": "2"}})


@pytest.mark.parametrize("conda_attrs, pypi_attrs", [
    ({"disabled": True, "libraries": {"a": ""}}, {"packages": {"b": ""}}),
    ({"libraries": {"a": ""}}, {"disabled": True, "packages": {"b": ""}}),
])
def test_disabled_on_either_mixed_decorator_runs_outside(conda_attrs, pypi_attrs):
    req = merge(conda_attrs, Family.CONDA, {"libraries": {"c": ""}}, Family.CONDA, pypi_attrs=pypi_attrs)
    assert req.disabled and req.spec is None


def test_disabled_pypi_step_under_conda_base_runs_outside():
    assert merge({"disabled": True}, Family.PYPI, {"libraries": {"a": ""}}, Family.CONDA).disabled


def test_disabled_mixed_flow_enabled_by_a_step_setting():
    req = merge({"packages": {"b": ""}}, Family.PYPI, {"libraries": {"a": ""}, "disabled": True}, Family.CONDA,
                pypi_base_attrs={"packages": {"c": ""}})
    assert not req.disabled and conda_names(req.spec) == {"a": None}
    assert pypi_reqs(req.spec) == {"b": "b", "c": "c"}


def test_named_env_extended_by_conda_and_pypi_on_one_step():
    req = merge({"libraries": {"numpy": ""}}, Family.CONDA, pypi_attrs={"packages": {"six": ""}},
                named_attrs={"name": "team/env"})
    assert (req.base, req.family) == ("team/env", Family.CONDA) and req.extends
    assert conda_names(req.spec) == {"numpy": None} and pypi_reqs(req.spec) == {"six": "six"}


def test_name_on_conda_base_next_to_pypi_base_packages_is_an_error():
    with pytest.raises(SpecError, match=r"@conda_base on the flow names an environment, so @pypi_base on the "
                                        r"flow cannot add to it: name it with @named_env_base\(name='team/env'\)"):
        merge(flow_attrs={"name": "team/env"}, flow_family=Family.CONDA, pypi_base_attrs={"packages": {"a": ""}})


def test_name_on_conda_next_to_pypi_packages_is_an_error():
    with pytest.raises(SpecError, match=r"@conda on step 'train' names an environment, so @pypi on step 'train' "
                                        r"cannot add to it: name it with @named_env\(name='team/env'\)"):
        merge({"name": "team/env"}, Family.CONDA, pypi_attrs={"packages": {"six": ""}})


@pytest.mark.parametrize("flow_family, flow_attrs", [
    (Family.CONDA, {"libraries": {"pandas": ""}}), (Family.PYPI, {"packages": {"pandas": ""}}),
])
def test_named_env_step_combines_with_either_base(flow_family, flow_attrs):
    req = merge({"name": "team/env"}, Family.NAMED, flow_attrs, flow_family)
    assert (req.family, req.base, req.spec) == (flow_family, "team/env", None)


@pytest.mark.parametrize("step_family, step_attrs", [
    (Family.CONDA, {"libraries": {"pandas": ""}}), (Family.PYPI, {"packages": {"pandas": ""}}),
])
def test_named_env_base_combines_with_either_step(step_family, step_attrs):
    req = merge(step_attrs, step_family, {"name": "team/env:stable"}, Family.NAMED)
    assert (req.family, req.base, req.base_kind) == (step_family, "team/env:stable", "generic")
    assert req.spec == spec_from_attributes(step_family, step_attrs)


def test_check_step_decorators_picks_packages_conda_first_and_named():
    conda = DecoratorAttrs("@conda", Family.CONDA, {})
    pypi = DecoratorAttrs("@pypi", Family.PYPI, {})
    named = DecoratorAttrs("@named_env", Family.NAMED, {"name": "a"})
    assert check_step_decorators("s", [pypi, named, conda]) == ([conda, pypi], named)
    assert check_step_decorators("s", [named]) == ([], named)
    assert check_step_decorators("s", []) == ([], None)


def test_check_flow_decorators_families():
    decos = [DecoratorAttrs("@pypi_base", Family.PYPI, {}), DecoratorAttrs("@conda_base", Family.CONDA, {})]
    assert check_flow_decorators(decos) == decos[::-1]
    decos = [DecoratorAttrs("@named_env_base", Family.NAMED, {"name": "a"}),
             DecoratorAttrs("@conda_base", Family.CONDA, {})]
    with pytest.raises(SpecError, match="@named_env_base and @conda_base: keep one"):
        check_flow_decorators(decos)


def test_validate_flow_decorators_checks_attributes():
    validate_flow_decorators([DecoratorAttrs("@conda_base", Family.CONDA, {"python": "3.10"})])
    validate_flow_decorators([])
    with pytest.raises(SpecError, match="@conda_base on the flow: python must be a string"):
        validate_flow_decorators([DecoratorAttrs("@conda_base", Family.CONDA, {"python": 3.9})])


# rule 5: two decorators of one kind


def test_two_decorators_of_one_kind_on_a_step():
    decos = [DecoratorAttrs("@conda", Family.CONDA, {}), DecoratorAttrs("@other_conda", Family.CONDA, {})]
    with pytest.raises(SpecError, match="Step 'train' has @conda and @other_conda, two decorators of the same kind"):
        check_step_decorators("train", decos)


def test_two_flow_decorators_of_one_kind():
    decos = [DecoratorAttrs("@pypi_base", Family.PYPI, {}), DecoratorAttrs("@pip_base", Family.PYPI, {})]
    with pytest.raises(SpecError, match="@pypi_base and @pip_base, two decorators of the same kind"):
        check_flow_decorators(decos)


# rule 6: fetch_at_exec only with a name


@pytest.mark.parametrize("attrs", [{"fetch_at_exec": True}, {"fetch_at_exec": True, "libraries": {"a": ""}}])
def test_fetch_at_exec_without_name_on_step(attrs):
    with pytest.raises(SpecError, match="@conda on step 'train' sets fetch_at_exec=True without name= or pathspec="):
        merge(attrs, Family.CONDA)


def test_fetch_at_exec_without_name_on_flow():
    with pytest.raises(SpecError, match="@pypi_base on the flow sets fetch_at_exec=True without name="):
        merge(flow_attrs={"fetch_at_exec": True, "packages": {"a": ""}}, flow_family=Family.PYPI)


def test_fetch_at_exec_step_without_name_under_named_flow_is_an_error():
    # fetch_at_exec goes with the name on the same decorator.
    with pytest.raises(SpecError, match="without name= or pathspec="):
        merge({"fetch_at_exec": True}, Family.CONDA, {"name": "team/env"}, Family.NAMED)


def test_flow_fetch_at_exec_reaches_steps():
    flow = {"name": "team/@{TEAM}", "fetch_at_exec": True}
    expected = StepEnvRequest("train", Family.NAMED, False, None, "team/@{TEAM}", "generic", True)
    assert merge(flow_attrs=flow, flow_family=Family.NAMED) == expected
    # A step decorator adding nothing keeps it as it is.
    assert merge({}, Family.CONDA, flow, Family.NAMED).fetch_at_exec
    assert merge({"disabled": False}, Family.CONDA, flow, Family.NAMED).base == "team/@{TEAM}"


# rule 7: extending a named environment


def test_extending_flow_name():
    req = merge({"libraries": {"numpy": "1.26"}, "python": "3.10"}, Family.CONDA,
                {"name": "team/env"}, Family.CONDA)
    assert (req.base, req.base_kind, req.fetch_at_exec) == ("team/env", "generic", False)
    assert conda_names(req.spec) == {"numpy": "==1.26"} and req.spec.python == "3.10.*"
    assert req.extends


def test_extending_flow_pathspec():
    req = merge({"packages": {"requests": ""}}, Family.PYPI, {"pathspec": "MyFlow/3/start"}, Family.PYPI)
    assert (req.base, req.base_kind) == ("MyFlow/3/start", "pathspec")
    assert pypi_reqs(req.spec) == {"requests": "requests"}


def test_extending_fetch_at_exec_is_an_error():
    with pytest.raises(SpecError) as err:
        merge({"libraries": {"numpy": ""}}, Family.CONDA, {"name": "team/env", "fetch_at_exec": True}, Family.NAMED)
    assert "Step 'train' adds packages (@conda)" in err.value.message
    assert "@named_env_base(name='team/env') with fetch_at_exec=True" in err.value.message


def test_named_env_and_conda_on_one_step_extend():
    req = merge({"libraries": {"numpy": ""}}, Family.CONDA, {"libraries": {"pandas": ""}}, Family.CONDA,
                named_attrs={"pathspec": "MyFlow/3/start"})
    assert (req.base, req.base_kind, req.family) == ("MyFlow/3/start", "pathspec", Family.CONDA)
    # The named environment replaces the flow's packages; the step's are added to it.
    assert conda_names(req.spec) == {"numpy": None}


def test_named_env_and_bare_conda_on_one_step():
    req = merge({}, Family.CONDA, {"disabled": True}, Family.CONDA, named_attrs={"name": "a"})
    assert (req.disabled, req.base, req.spec) == (False, "a", None)


def test_named_env_and_disabled_conda_on_one_step():
    assert merge({"disabled": True}, Family.CONDA, named_attrs={"name": "a"}).disabled


def test_named_env_fetch_at_exec_and_conda_packages_on_one_step():
    with pytest.raises(SpecError, match="cannot be extended"):
        merge({"libraries": {"numpy": ""}}, Family.CONDA, named_attrs={"name": "a", "fetch_at_exec": True})


def test_named_env_and_named_conda_on_one_step():
    with pytest.raises(SpecError, match="names an environment in both @named_env and @conda"):
        merge({"name": "b"}, Family.CONDA, named_attrs={"name": "a"})


def test_lone_named_attrs_act_as_the_step_decorator():
    req = merge(named_attrs={"name": "a"})
    assert (req.family, req.base) == (Family.NAMED, "a")


def test_step_name_overrides_flow_name():
    req = merge({"name": "mine"}, Family.NAMED, {"name": "theirs", "fetch_at_exec": True}, Family.NAMED)
    assert (req.base, req.fetch_at_exec) == ("mine", False)


# request_for_step: everything at once


def test_request_for_step_without_step_decorator():
    flow = [DecoratorAttrs("@pypi_base", Family.PYPI, {"packages": {"a": ""}}, frozenset({"packages"}))]
    req = request_for_step("end", flow, [])
    assert req.step == "end" and pypi_reqs(req.spec) == {"a": "a"}
    assert request_for_step("end", [], []) is None


def test_request_for_step_named_plus_pypi():
    step = [DecoratorAttrs("@named_env", Family.NAMED, {"name": "a"}, frozenset({"name"})),
            DecoratorAttrs("@pypi", Family.PYPI, {"packages": {"b": ""}}, frozenset({"packages"}))]
    req = request_for_step("s", [], step)
    assert (req.family, req.base) == (Family.PYPI, "a") and pypi_reqs(req.spec) == {"b": "b"}


def test_request_for_step_uses_labels_in_messages():
    step = [DecoratorAttrs("@my_conda", Family.CONDA, {"python": "3.9"}, frozenset({"python"})),
            DecoratorAttrs("@pip", Family.PYPI, {"python": "3.10"}, frozenset({"python"}))]
    with pytest.raises(SpecError, match="@my_conda on step 's' asks for python='3.9' but @pip on step 's' for python='3.10'"):
        request_for_step("s", [], step)


# ------------------------------------------------------------------------------------------
# The Metaflow decorator classes (fake flow object: only `_flow_decorators`)


def fake_flow(*flow_decos):
    by_name = {}
    for deco in flow_decos:
        by_name.setdefault(deco.name, []).append(deco)
    return types.SimpleNamespace(_flow_decorators=by_name)


def init_step(flow, step_decos, step_name="start"):
    for deco in list(flow._flow_decorators.values()):
        for d in deco:
            d.external_init()
    for deco in step_decos:
        # As if written in the flow's code (unless a test says it was attached by Metaflow).
        if not getattr(deco, "_attached", False):
            deco.statically_defined = True
    for deco in step_decos:
        deco.external_init()
        deco.step_init(flow, None, step_name, step_decos, _ENV, None, print)
    return [d.request for d in step_decos]


class OtherCondaStep(D.CondaStepDecorator):
    """What another extension's subclass looks like (its own name, one more attribute)."""

    name = "other_conda"
    defaults = {**D.CondaStepDecorator.defaults, "gpu": False}


class OtherPypiFlow(D.PypiFlowDecorator):
    name = "other_pypi_base"


def test_registration_names():
    assert [c.name for c in D.STEP_DECORATORS] == ["conda", "pypi", "pip", "named_env"]
    assert [c.name for c in D.FLOW_DECORATORS] == ["conda_base", "pypi_base", "pip_base", "named_env_base"]
    assert issubclass(D.PipStepDecorator, D.PypiStepDecorator)
    assert issubclass(D.PipFlowDecorator, D.PypiFlowDecorator)
    assert all(issubclass(c, D.EnvStepDecoratorBase) for c in D.STEP_DECORATORS)
    assert all(issubclass(c, D.EnvFlowDecoratorBase) for c in D.FLOW_DECORATORS)


def test_family_of_uses_classes():
    assert D.family_of(D.CondaStepDecorator()) == Family.CONDA
    assert D.family_of(OtherCondaStep()) == Family.CONDA
    assert D.family_of(D.PipStepDecorator()) == Family.PYPI
    assert D.family_of(OtherPypiFlow()) == Family.PYPI
    assert D.family_of(D.NamedEnvFlowDecorator()) == Family.NAMED
    assert D.family_of(object()) is None


def test_step_decorator_records_request():
    flow = fake_flow(D.CondaFlowDecorator(attributes={"libraries": {"pandas": "1.4.2"}, "python": "3.10"}))
    [req] = init_step(flow, [D.CondaStepDecorator(attributes={"libraries": {"numpy": ">=1.26"}})])
    assert req.step == "start" and req.family == Family.CONDA and not req.disabled
    assert conda_names(req.spec) == {"pandas": "==1.4.2", "numpy": ">=1.26"}
    assert req.spec.python == "3.10.*"


def test_step_decorator_ignores_unrelated_decorators():
    class Unrelated:
        name = "retry"

    flow = fake_flow()
    flow._flow_decorators["project"] = [Unrelated()]
    deco = D.PypiStepDecorator(attributes={"packages": {"a": ""}})
    deco.step_init(flow, None, "start", [Unrelated(), deco], _ENV, None, print)
    assert pypi_reqs(deco.request.spec) == {"a": "a"}


def test_step_decorator_without_attributes_under_disabled_flow():
    flow = fake_flow(D.PypiFlowDecorator(attributes={"packages": {"a": ""}, "disabled": True}))
    [req] = init_step(flow, [D.PypiStepDecorator()])
    assert req.disabled
    [req] = init_step(flow, [D.PypiStepDecorator(attributes={"python": "3.11"})])
    assert not req.disabled and req.spec.python == "3.11.*"


def test_step_decorator_request_is_recomputed():
    flow = fake_flow()
    deco = D.CondaStepDecorator(attributes={"libraries": {"a": ""}})
    first = init_step(flow, [deco])[0]
    deco.step_init(flow, None, "start", [deco], _ENV, None, print)
    assert deco.request == first
    assert deco.attributes["libraries"] == {"a": ""}  # attributes are never modified


def test_invalid_request_is_a_metaflow_exception():
    from metaflow.exception import MetaflowException

    flow = fake_flow(D.PypiFlowDecorator(attributes={"packages": {"b": ""}, "python": "3.9"}))
    with pytest.raises(D.InvalidEnvRequest) as err:
        init_step(flow, [D.CondaStepDecorator(attributes={"libraries": {"a": ""}, "no_pypi": True})], "train")
    assert isinstance(err.value, MetaflowException)
    assert err.value.headline == "Invalid environment request"
    assert "@conda on step 'train' sets no_pypi=True, but @pypi_base on the flow asks" in str(err.value)
    assert "\n" not in str(err.value)


def test_conda_and_pypi_on_one_step_share_one_mixed_request():
    decos = [D.CondaStepDecorator(attributes={"libraries": {"a": ""}}),
             D.PypiStepDecorator(attributes={"packages": {"b": ""}})]
    first, second = init_step(fake_flow(), decos)
    assert first == second and conda_names(first.spec) == {"a": None} and pypi_reqs(first.spec) == {"b": "b"}


def test_bare_conda_attached_by_the_environment_is_ignored():
    attached = D.CondaStepDecorator()
    attached._attached = True  # what --environment=conda's decospecs adds to every step
    _, req = init_step(fake_flow(), [attached, D.PypiStepDecorator(attributes={"packages": {"six": ""}})])
    assert req.family == "pypi" and pypi_reqs(req.spec) == {"six": "six"}


def test_pip_and_pypi_on_one_step_are_the_same_kind():
    with pytest.raises(D.InvalidEnvRequest, match="has @pypi and @pip, two decorators of the same kind"):
        init_step(fake_flow(), [D.PypiStepDecorator(), D.PipStepDecorator()])


def test_subclass_from_other_extension_counts_as_conda():
    with pytest.raises(D.InvalidEnvRequest, match="has @conda and @other_conda, two decorators of the same kind"):
        init_step(fake_flow(), [D.CondaStepDecorator(), OtherCondaStep()])
    flow = fake_flow(D.PypiFlowDecorator(attributes={"python": "3.9"}))
    with pytest.raises(D.InvalidEnvRequest, match="@other_conda on step 'start' sets no_pypi=True, but "):
        init_step(flow, [OtherCondaStep(attributes={"no_pypi": True}), D.PypiStepDecorator(
            attributes={"packages": {"b": ""}})])
    # Its own extra attribute is not ours to judge.
    [req] = init_step(fake_flow(), [OtherCondaStep(attributes={"gpu": True, "libraries": {"a": ""}})])
    assert conda_names(req.spec) == {"a": None}


def test_subclass_flow_decorator_counts_as_pypi():
    flow = fake_flow(OtherPypiFlow(attributes={"packages": {"x": ""}}))
    with pytest.raises(D.InvalidEnvRequest, match="@conda on step 'start' sets no_pypi=True, but "
                                                  "@other_pypi_base on the flow asks for PyPI packages"):
        init_step(flow, [D.CondaStepDecorator(attributes={"libraries": {"a": ""}, "no_pypi": True})])


def test_named_env_step_decorator():
    flow = fake_flow(D.CondaFlowDecorator(attributes={"libraries": {"a": ""}}))
    [req] = init_step(flow, [D.NamedEnvStepDecorator(attributes={"name": "team/env:v1"})])
    assert req == StepEnvRequest("start", Family.CONDA, False, None, "team/env:v1", "generic", False)


def test_named_env_and_conda_on_one_step_share_the_request():
    decos = [D.NamedEnvStepDecorator(attributes={"name": "team/env"}),
             D.CondaStepDecorator(attributes={"libraries": {"numpy": ""}})]
    first, second = init_step(fake_flow(), decos)
    assert first == second and first.extends and first.base == "team/env"


def test_named_env_base_extension_through_classes():
    flow = fake_flow(D.NamedEnvFlowDecorator(attributes={"pathspec": "MyFlow/7/start"}))
    [req] = init_step(flow, [D.PipStepDecorator(attributes={"packages": {"requests": "2.31"}})])
    assert (req.family, req.base, req.base_kind) == (Family.PYPI, "MyFlow/7/start", "pathspec")
    assert pypi_reqs(req.spec) == {"requests": "requests==2.31"}


def test_pypi_sources_attribute_name():
    [req] = init_step(fake_flow(), [D.PypiStepDecorator(attributes={"sources": ["https://x/simple"]})])
    assert req.spec.pypi_sources.extra_index_urls == ("https://x/simple",)


def test_unknown_attribute_reported_when_the_step_is_initialised():
    # Not while the flow file is imported (a traceback there): at step_init, one line.
    deco = D.NamedEnvStepDecorator(attributes={"libraries": {}, "nmae": "x"})
    with pytest.raises(D.InvalidEnvRequest, match=r"@named_env on step 'start': unknown attributes 'libraries', "
                       r"'nmae' \(did you mean 'name'\?\); the accepted ones are fetch_at_exec, name, pathspec\."):
        init_step(fake_flow(), [deco])


def test_step_request_for_step_without_decorator():
    flow = fake_flow(D.NamedEnvFlowDecorator(attributes={"name": "team/env", "fetch_at_exec": True}))
    for d in flow._flow_decorators["named_env_base"]:
        d.external_init()
    assert D.step_request(flow, "end") == StepEnvRequest("end", Family.NAMED, False, None, "team/env", "generic", True)
    assert D.step_request(fake_flow(), "end") is None


def test_flow_init_checks_flow_decorators():
    flow = fake_flow(D.CondaFlowDecorator(attributes={"python": "3.10"}),
                     D.PypiFlowDecorator(attributes={"python": "3.9"}))
    with pytest.raises(D.InvalidEnvRequest, match="@conda_base on the flow asks for python='3.10' but @pypi_base"):
        flow._flow_decorators["conda_base"][0].flow_init(flow, None, None, None, None, None, None, {})
    flow = fake_flow(D.CondaFlowDecorator(), D.NamedEnvFlowDecorator(attributes={"name": "a"}))
    with pytest.raises(D.InvalidEnvRequest, match="The flow has @conda_base and @named_env_base: keep one"):
        flow._flow_decorators["conda_base"][0].flow_init(flow, None, None, None, None, None, None, {})
    flow = fake_flow(D.PypiFlowDecorator(attributes={"fetch_at_exec": True}))
    with pytest.raises(D.InvalidEnvRequest, match="fetch_at_exec=True without name="):
        flow._flow_decorators["pypi_base"][0].flow_init(flow, None, None, None, None, None, None, {})
    flow = fake_flow(D.PipFlowDecorator(attributes={"packages": {"a": ""}}))
    flow._flow_decorators["pip_base"][0].flow_init(flow, None, None, None, None, None, None, {})


def test_decorator_spec_round_trip():
    deco = D.CondaStepDecorator(attributes={
        "python": "3.10", "libraries": {"numpy": "1.26"}, "fetch_at_exec": False, "disabled": False})
    spec = deco.make_decorator_spec()
    name, body = spec.split(":", 1)
    assert name == "conda"
    back = D.CondaStepDecorator.parse_decorator_spec(body)
    assert back.attributes == deco.attributes
    assert back.attributes["python"] == "3.10"  # not the float 3.1
    assert back._user_defined_attributes == {"python", "libraries", "fetch_at_exec", "disabled"}
    assert D.PypiStepDecorator().make_decorator_spec() == "pypi"
    named = D.NamedEnvStepDecorator(attributes={"name": "123"})
    assert D.NamedEnvStepDecorator.parse_decorator_spec(
        named.make_decorator_spec().split(":", 1)[1]).attributes["name"] == "123"


def test_with_real_flowspec():
    """Metaflow's own decorator machinery (as `from metaflow import conda` would do once
    registered) on a real FlowSpec."""
    from metaflow import FlowSpec, step
    from metaflow.decorators import _base_flow_decorator, _base_step_decorator

    conda_base = partial(_base_flow_decorator, D.CondaFlowDecorator)
    conda = partial(_base_step_decorator, D.CondaStepDecorator)
    named_env = partial(_base_step_decorator, D.NamedEnvStepDecorator)

    @conda_base(libraries={"pandas": "1.4.2"}, python="3.10")
    class DecoFlow(FlowSpec):
        @conda(libraries={"numpy": ">=1.26"})
        @step
        def start(self):
            self.next(self.end)

        @named_env(name="team/env")
        @step
        def end(self):
            pass

    flow = DecoFlow(use_cli=False)
    requests = {}
    for node in flow:
        for deco in node.decorators:
            deco.external_init()
            deco.step_init(flow, None, node.__name__, node.decorators, _ENV, None, print)
            requests[node.__name__] = deco.request
    assert conda_names(requests["start"].spec) == {"pandas": "==1.4.2", "numpy": ">=1.26"}
    assert requests["end"].base == "team/env" and requests["end"].spec is None


class _FlowWithSteps(types.SimpleNamespace):
    """A fake flow (mocked on purpose, as above) whose steps can be iterated, as the
    environment does."""

    def __iter__(self):
        return iter(self.steps)


def test_environment_reads_each_steps_request_computed_once():
    from metaflow_extensions.envs.plugins.envs.integration.environment import CondaEnvironment

    train = [D.PypiStepDecorator(attributes={"packages": {"a": ""}})]
    # `end` gets only the bare @conda the environment attaches, and no step_init ran for it
    # (as in a task-side command): the flow-level request, computed on first use.
    attached = D.CondaStepDecorator()
    attached.statically_defined = False
    flow = _FlowWithSteps(_flow_decorators={"pypi_base": [D.PypiFlowDecorator(attributes={"packages": {"b": ""}})]},
                          steps=[types.SimpleNamespace(name="train", decorators=train),
                                 types.SimpleNamespace(name="end", decorators=[attached])])
    [computed] = init_step(flow, train, "train")
    env = CondaEnvironment(flow)
    assert env.request_for("train") is computed  # step_init's, not computed again
    end = env.request_for("end")
    assert pypi_reqs(end.spec) == {"b": "b"} and env.request_for("end") is end
    assert env.request_for("_parameters") is None  # not a step of the flow
    assert env.resolved("train") is None  # nothing resolved yet


# ------------------------------------------------------------------------------------------
# @pypi(extras=[...]) and @conda(no_pypi=...) and @pypi(conda_only={...})


def test_extras_pre_allows_pre_releases_and_changes_the_req_id():
    with_pre = merge({"packages": {"a": ""}, "extras": ["pre"]}, Family.PYPI).spec
    without = merge({"packages": {"a": ""}}, Family.PYPI).spec
    assert with_pre.pypi_sources.pre and not without.pypi_sources.pre
    assert with_pre.req_id != without.req_id


def test_extras_on_the_base_reach_a_mixed_step():
    req = merge({"libraries": {"numpy": ""}}, Family.CONDA, {"packages": {"a": ""}, "extras": ["pre"]}, Family.PYPI)
    assert req.spec.pypi_sources.pre


@pytest.mark.parametrize("extras", [["--pre"], ["pre", "only-binary=:all:"]])
def test_extras_with_or_without_dashes(extras):
    assert merge({"packages": {"a": ""}, "extras": extras}, Family.PYPI).spec.pypi_sources.pre


def test_extras_map_to_the_resolver_options_they_name():
    spec = merge({"packages": {"a": ""}, "extras": ["--only-binary=:all:", "no-binary=My_Pkg,other",
                                                    "index-strategy=unsafe-first-match"]}, Family.PYPI).spec
    src = spec.pypi_sources
    assert src.only_binary == (":all:",) and src.no_binary == ("my-pkg", "other")
    assert src.index_strategy == "unsafe-first-match" and not src.pre
    assert spec.req_id != merge({"packages": {"a": ""}}, Family.PYPI).spec.req_id


def test_extras_of_flow_and_step_add_up():
    spec = merge({"packages": {"a": ""}, "extras": ["no-binary=a"]}, Family.PYPI,
                 {"extras": ["pre", "no-binary=b"]}, Family.PYPI).spec
    assert spec.pypi_sources.pre and spec.pypi_sources.no_binary == ("b", "a")


@pytest.mark.parametrize("extras, message", [
    (["pre", "nightly", "--no-build-isolation"],
     r"@pypi on step 'train', extras: 'nightly' is not an extra uv can honour; '--no-build-isolation' cannot be "
     r"honoured here: builds from source run isolated.*The accepted ones are 'pre' \(allow pre-release versions"),
    (["index-strategy=best"], r"'index-strategy=best' is not an extra uv can honour"),
    ("pre", r"extras must be a list of strings, e.g. extras=\['pre'\]"),
])
def test_bad_extras(extras, message):
    with pytest.raises(SpecError, match=message):
        merge({"extras": extras}, Family.PYPI)


def test_extras_is_not_a_conda_attribute():
    with pytest.raises(SpecError, match="@conda on step 'train' has no attribute 'extras'"):
        merge({"extras": ["pre"]}, Family.CONDA)


@pytest.mark.parametrize("value", [True, "True"])  # "True": from `--with conda:no_pypi=True`
def test_no_pypi_reaches_the_request(value):
    req = merge({"libraries": {"a": ""}, "no_pypi": value}, Family.CONDA)
    assert req.no_pypi and pypi_reqs(req.spec) == {}
    assert not merge({"libraries": {"a": ""}}, Family.CONDA).no_pypi


def test_no_pypi_on_the_base_reaches_every_step():
    assert merge({"libraries": {"b": ""}}, Family.CONDA, {"no_pypi": True}, Family.CONDA).no_pypi
    assert merge(flow_attrs={"no_pypi": True}, flow_family=Family.CONDA).no_pypi


@pytest.mark.parametrize("kw, message", [
    (dict(step_attrs={"no_pypi": True, "pip_packages": {"six": ""}}, step_family=Family.CONDA),
     "@conda on step 'train' sets no_pypi=True together with pip_packages (six)"),
    (dict(step_attrs={"no_pypi": True}, step_family=Family.CONDA, pypi_attrs={"packages": {"six": ""}}),
     "@conda on step 'train' sets no_pypi=True, but @pypi on step 'train' asks for PyPI packages (six)"),
    (dict(step_attrs={"packages": {"six": ""}}, step_family=Family.PYPI, flow_attrs={"no_pypi": True},
          flow_family=Family.CONDA),
     "@conda_base on the flow sets no_pypi=True, but @pypi on step 'train' asks for PyPI packages (six)"),
    (dict(step_attrs={"no_pypi": True}, step_family=Family.CONDA, flow_attrs={"pip_packages": {"six": ""}},
          flow_family=Family.CONDA),
     "@conda on step 'train' sets no_pypi=True, but @conda_base on the flow asks for PyPI packages (six)"),
    (dict(step_attrs={"no_pypi": True, "name": "team/env"}, step_family=Family.CONDA),
     "@conda on step 'train' sets name= together with no_pypi"),
])
def test_no_pypi_with_pypi_packages_is_an_error(kw, message):
    with pytest.raises(SpecError) as err:
        merge(**kw)
    assert message in err.value.message


def test_old_conda_only_bool_on_conda_names_its_new_spelling():
    with pytest.raises(SpecError, match="@conda on step 'train': conda_only is @pypi's dict of Conda packages "
                                        r"\(conda_only=\{'ffmpeg': ''\}, .*write no_pypi=True"):
        merge({"libraries": {"a": ""}, "conda_only": True}, Family.CONDA)


def test_pypi_conda_only_adds_conda_packages_to_a_pypi_environment():
    req = merge({"packages": {"six": ""}, "conda_only": {"ffmpeg": "", "conda-forge::x264": "1!152"}}, Family.PYPI)
    assert req.family == Family.PYPI and not req.no_pypi
    assert set(conda_names(req.spec)) == {"ffmpeg", "x264"} and pypi_reqs(req.spec) == {"six": "six"}
    assert req.spec.req_id != merge({"packages": {"six": ""}}, Family.PYPI).spec.req_id


def test_pypi_base_conda_only_reaches_every_step_and_the_step_adds():
    req = merge({"conda_only": {"x264": ""}}, Family.PYPI, {"packages": {"six": ""}, "conda_only": {"ffmpeg": "6.1"}},
                Family.PYPI)
    assert conda_names(req.spec) == {"ffmpeg": "==6.1", "x264": None} and req.family == Family.PYPI


def test_pypi_conda_only_next_to_conda_on_a_step():
    req = merge({"libraries": {"a": ""}}, Family.CONDA, pypi_attrs={"conda_only": {"ffmpeg": ""}})
    assert set(conda_names(req.spec)) == {"a", "ffmpeg"}
    with pytest.raises(SpecError, match="lists 'a' in libraries and @pypi on step 'train' in conda_only"):
        merge({"libraries": {"a": ""}}, Family.CONDA, pypi_attrs={"conda_only": {"a": ""}})


@pytest.mark.parametrize("value, message", [
    ({"python": "3.10"}, "python is not a package here"),
    (["ffmpeg"], "conda_only"),
])
def test_pypi_conda_only_bad_values(value, message):
    with pytest.raises(SpecError, match=message):
        merge({"conda_only": value}, Family.PYPI)


def test_no_pypi_must_be_a_bool():
    with pytest.raises(SpecError, match="no_pypi must be True or False"):
        merge({"no_pypi": "yes"}, Family.CONDA)


# ------------------------------------------------------------------------------------------
# @pypi_base(requirements=...) (what @resolved_req maps onto)


def test_requirements_file_is_the_decorators_request(tmp_path):
    path = tmp_path / "requirements.txt"
    path.write_text("--index-url https://corp.example/simple\n--pre\nsix==1.15\nattrs>=23\n--conda-pkg ffmpeg\n")
    req = merge({"requirements": str(path), "packages": {"six": "1.16"}}, Family.PYPI)
    assert pypi_reqs(req.spec) == {"six": "six==1.16", "attrs": "attrs>=23"}  # the decorator wins for six
    assert conda_names(req.spec) == {"ffmpeg": None}
    src = req.spec.pypi_sources
    assert src.index_url == "https://corp.example/simple" and src.pre
    # The file's content is the request: a changed file is another environment.
    before = req.spec.req_id
    path.write_text("six==1.15\n")
    os.utime(path, ns=(1, 1))  # another mtime: read again
    assert merge({"requirements": str(path)}, Family.PYPI).spec.req_id != before


@pytest.mark.parametrize("text, message", [
    ("--sys-pkg __cuda==12.4\n", "has --sys-pkg lines, which a decorator cannot carry"),
    ("six===\n", "requirements.txt"),
])
def test_requirements_file_mistakes_name_the_attribute(tmp_path, text, message):
    path = tmp_path / "requirements.txt"
    path.write_text(text)
    with pytest.raises(SpecError, match=message):
        merge({"requirements": str(path)}, Family.PYPI)
    with pytest.raises(SpecError, match="requirements file 'nope.txt' not found"):
        merge({"requirements": "nope.txt"}, Family.PYPI)


def test_requirements_conda_channel_lines_reach_a_mixed_step(tmp_path):
    path = tmp_path / "requirements.txt"
    path.write_text("--conda-channel bioconda\n--conda-pkg samtools\nsix\n")
    req = merge({"libraries": {"a": ""}, "channels": ["conda-forge"]}, Family.CONDA,
                pypi_attrs={"requirements": str(path)})
    assert req.spec.channels == ("conda-forge", "bioconda") and set(conda_names(req.spec)) == {"a", "samtools"}
