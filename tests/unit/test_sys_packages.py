"""System (virtual) packages: what a request declares its target machines provide.

Pure rules: the typed field of EnvSpec, the two file forms, the settings and how the target's
virtual packages follow the declaration. Resolution itself: tests/integration/test_sys_packages.py.
"""
import json
import textwrap

import pytest

from metaflow_extensions.envs.plugins.envs.errors import SpecError
from metaflow_extensions.envs.plugins.envs.resolve.platforms import (
    gpu_sys_packages,
    platform_info,
    sys_packages_for,
)
from metaflow_extensions.envs.plugins.envs.resolve.resolver import with_defaults
from metaflow_extensions.envs.plugins.envs.spec import parse_text
from metaflow_extensions.envs.plugins.envs.spec.model import EnvSpec, parse_sys_package

CUDA = (("__cuda", "12.4"),)


@pytest.fixture(autouse=True)
def _no_configured_defaults(monkeypatch):
    for name in ("CONDA_SYS_DEFAULT_PACKAGES", "CONDA_SYS_DEFAULT_GPU_PACKAGES", "CONDA_GLIBC_VERSION"):
        monkeypatch.delenv("METAFLOW_" + name, raising=False)


# ---- the field -----------------------------------------------------------------------------


def test_declarations_are_part_of_the_request_and_order_free():
    plain = EnvSpec()
    with_cuda = EnvSpec(sys_packages=CUDA)
    assert with_cuda.req_id != plain.req_id
    assert EnvSpec(sys_packages=(("__cuda", "12.8"),)).req_id != with_cuda.req_id
    both = (("__glibc", "2.17"), ("__cuda", "12.4"))
    assert EnvSpec(sys_packages=both) == EnvSpec(sys_packages=tuple(reversed(both)))
    assert EnvSpec(sys_packages=both).req_id == EnvSpec(sys_packages=tuple(reversed(both))).req_id
    # a request declaring nothing keeps the req_id it had before the field existed
    assert "sys" not in plain.canonical()


def test_a_lock_round_trips_its_declarations_and_checks_them():
    spec = EnvSpec(sys_packages=(("__cuda", "12.4=0"), ("__glibc", "2.17")))
    assert EnvSpec.from_dict(spec.to_dict()) == spec
    with pytest.raises(SpecError, match="Malformed 'sys'"):
        EnvSpec.from_dict({"sys": ["__cuda"]})
    with pytest.raises(SpecError, match="Unknown system package '__evil'"):
        EnvSpec.from_dict({"sys": {"__evil": "1"}})


@pytest.mark.parametrize("name, value, message", [
    ("__cdua", "12.4", r"Unknown system package '__cdua': use one of __archspec, __cuda, __glibc"),
    ("numpy", "1.0", r"Unknown system package 'numpy'"),
    ("__cuda", ">=12", r"__cuda needs the one version the target machine provides.*'12.4'.*not '>=12'"),
    ("__cuda", "12.4=", r"not '12.4='"),
    ("__cuda", 12.4, r"as a string such as '12.4'.*not 12.4"),
    ("__glibc", "2", r"__glibc needs .* such as '2.28'"),
    ("__cuda", "", r"not ''"),
])
def test_bad_declarations_name_what_to_write(name, value, message):
    with pytest.raises(SpecError, match=message):
        EnvSpec(sys_packages=((name, value),))


def test_a_name_declared_twice_is_refused():
    with pytest.raises(SpecError, match="__cuda is declared twice"):
        EnvSpec(sys_packages=(("__cuda", "12.4"), ("__cuda", "12.8")))


@pytest.mark.parametrize("text", ["__cuda==12.4", "__cuda=12.4", " __cuda == 12.4 "])
def test_text_forms(text):
    assert parse_sys_package(text) == ("__cuda", "12.4")


# ---- requirements.txt and environment.yml ----------------------------------------------------


def _parse(text, kind):
    source = "requirements.txt" if kind == "requirements" else "environment.yml"
    return parse_text(textwrap.dedent(text), source, kind)


def test_requirements_sys_pkg():
    spec = _parse("""
        --conda-pkg needscuda
        --sys-pkg __cuda==12.4
        --sys-pkg=__glibc=2.17
        --sys-pkg __cuda==12.4
        """, "requirements")
    assert spec.sys_packages == (("__cuda", "12.4"), ("__glibc", "2.17"))


@pytest.mark.parametrize("text, message", [
    ("--sys-pkg __cuda>=12\n", "requirements.txt, line 1: Malformed system package '__cuda>=12'.*'__cuda==12.4'"),
    ("--sys-pkg __cuda\n", "line 1: Malformed system package '__cuda'"),
    ("--sys-pkg\n", "line 1: option '--sys-pkg' needs a value, e.g. '--sys-pkg __cuda==12.4'"),
    ("--sys-pkg __cuda==12\n--sys-pkg __cuda==12.4\n", "line 2: system package __cuda is declared twice "
     r"\(first on line 1, as 12\)"),
    ("--sys-pkg __gpu==1\n", "line 1: Unknown system package '__gpu'"),
])
def test_requirements_sys_pkg_errors(text, message):
    with pytest.raises(SpecError, match=message):
        _parse(text, "requirements")


def test_environment_yml_sys_section_at_the_top_or_in_dependencies():
    top = _parse("""
        dependencies:
          - needscuda
        sys:
          - __cuda==12.4
        """, "environment-yml")
    inside = _parse("""
        dependencies:
          - needscuda
          - sys:
            - __cuda=12.4
        """, "environment-yml")
    assert top.sys_packages == inside.sys_packages == CUDA
    assert top.warnings == ()  # read, not ignored


@pytest.mark.parametrize("text, message", [
    ("dependencies: [numpy]\nsys: {__cuda: '12.4'}\n", r"line 2: 'sys:' must be a list such as "
     r"'sys: \[\"__cuda==12.4\"\]', got a mapping"),
    ("dependencies: [numpy]\nsys:\n  - __cuda>=12\n", "line 3: Malformed system package '__cuda>=12'"),
    ("dependencies:\n  - pip:\n    - --sys-pkg __cuda==12.4\n", "line 3: '--sys-pkg __cuda==12.4' is not "
     "allowed here: list '__cuda==12.4' under 'sys:' instead"),
])
def test_environment_yml_sys_errors(text, message):
    with pytest.raises(SpecError, match=message):
        _parse(text, "environment-yml")


# ---- the target's virtual packages -------------------------------------------------------------


def test_declared_packages_override_and_extend_the_target():
    info = platform_info("linux-64", (("__cuda", "12.4"), ("__glibc", "2.17"), ("__archspec", "1")))
    virtual = info.virtual_packages()
    assert virtual["__cuda"] == ("12.4", "0")
    assert virtual["__glibc"] == ("2.17", "0")
    assert virtual["__archspec"] == ("1", "x86_64")  # no build given: the machine's stays
    # the declared C library also bounds the wheels uv may pick
    assert info.uv_python_platform() == "x86_64-manylinux_2_17"
    assert info.wheel_platform_tags()[0] == "manylinux_2_17_x86_64"
    assert platform_info("linux-64", (("__cuda", "12.4=1"),)).virtual_packages()["__cuda"] == ("12.4", "1")
    assert "__cuda" not in platform_info("linux-64").virtual_packages()


def test_packages_a_target_os_lacks_are_not_applied_to_it():
    declared = (("__cuda", "12.4"), ("__glibc", "2.17"), ("__osx", "12.0"))
    assert sys_packages_for("linux-64", declared) == (("__cuda", "12.4"), ("__glibc", "2.17"))
    assert sys_packages_for("osx-arm64", declared) == (("__cuda", "12.4"), ("__osx", "12.0"))
    assert platform_info("osx-arm64", (("__osx", "12.0"),)).uv_environment() == {"MACOSX_DEPLOYMENT_TARGET": "12.0"}


def test_default_setting_for_every_platform_then_per_platform_then_the_request(monkeypatch):
    monkeypatch.setenv("METAFLOW_CONDA_SYS_DEFAULT_PACKAGES",
                       '{"__cuda": "11.8", "__glibc": "2.17", "linux-64": {"__glibc": "2.31"}}')
    assert sys_packages_for("linux-64", ()) == (("__cuda", "11.8"), ("__glibc", "2.31"))
    assert sys_packages_for("linux-aarch64", ()) == (("__cuda", "11.8"), ("__glibc", "2.17"))
    assert sys_packages_for("linux-64", CUDA) == (("__cuda", "12.4"), ("__glibc", "2.31"))
    # filled in before hashing: the lock records what the target was resolved against
    spec = with_defaults(EnvSpec(platform="linux-64"))
    assert spec.sys_packages == (("__cuda", "11.8"), ("__glibc", "2.31"))
    assert spec.req_id != with_defaults(EnvSpec(platform="linux-aarch64")).req_id


@pytest.mark.parametrize("value, message", [
    ("not json", r"METAFLOW_CONDA_SYS_DEFAULT_PACKAGES must be a JSON object .*, not 'not json'"),
    ('["__cuda"]', r"METAFLOW_CONDA_SYS_DEFAULT_PACKAGES must be a JSON object"),
    ('{"win-64": {}}', r"'win-64' is neither a platform .* nor a system package"),
    ('{"linux-64": "2.28"}', r"must be a JSON object"),
    ('{"__cuda": ">=12"}', r"METAFLOW_CONDA_SYS_DEFAULT_PACKAGES: System package __cuda needs"),
])
def test_malformed_default_setting(monkeypatch, value, message):
    monkeypatch.setenv("METAFLOW_CONDA_SYS_DEFAULT_PACKAGES", value)
    with pytest.raises(SpecError, match=message):
        sys_packages_for("linux-64", ())


def test_gpu_defaults(monkeypatch):
    assert gpu_sys_packages() == CUDA  # documented default: a CUDA 12 driver
    monkeypatch.setenv("METAFLOW_CONDA_SYS_DEFAULT_GPU_PACKAGES", '{"__cuda": "12.2=0"}')
    assert gpu_sys_packages() == (("__cuda", "12.2=0"),)
    monkeypatch.setenv("METAFLOW_CONDA_SYS_DEFAULT_GPU_PACKAGES", "{}")
    assert gpu_sys_packages() == ()
    monkeypatch.setenv("METAFLOW_CONDA_SYS_DEFAULT_GPU_PACKAGES", '{"__cuda": "twelve"}')
    with pytest.raises(SpecError, match="METAFLOW_CONDA_SYS_DEFAULT_GPU_PACKAGES: System package __cuda"):
        gpu_sys_packages()


def test_a_profile_dict_is_read_as_such(monkeypatch, tmp_path):
    # A Metaflow profile holds JSON: the setting is a JSON object there, not text.
    (tmp_path / "config.json").write_text(json.dumps({"METAFLOW_CONDA_SYS_DEFAULT_GPU_PACKAGES": {"__cuda": "12.6"}}))
    monkeypatch.setenv("METAFLOW_HOME", str(tmp_path))
    monkeypatch.delenv("METAFLOW_PROFILE", raising=False)
    monkeypatch.delenv("METAFLOW_CONDA_SYS_DEFAULT_GPU_PACKAGES", raising=False)
    assert gpu_sys_packages() == (("__cuda", "12.6"),)
