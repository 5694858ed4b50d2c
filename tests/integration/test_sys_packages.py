"""Resolving against declared virtual packages, with rattler and the local test channel.

`needscuda` 1.0.0 needs `__cuda >=12` and 2.0.0 `__cuda >=12.8` (as conda-forge's CUDA builds
need a driver); `needsnewglibc` needs `__glibc >=99`; every linux `python` needs `__glibc >=2.17`.
"""
import pytest

from metaflow_extensions.envs.plugins.envs.errors import ResolveError
from metaflow_extensions.envs.plugins.envs.resolve.resolver import resolve_environment
from metaflow_extensions.envs.plugins.envs.spec import parse_file
from metaflow_extensions.envs.plugins.envs.spec.model import CondaDep, EnvSpec


def _spec(*conda, sys_packages=()):
    return EnvSpec(conda_deps=tuple(CondaDep.parse(c) for c in conda), platform="linux-64",
                   sys_packages=sys_packages)


def _version(env, name):
    return next(p.version for p in env.packages if p.name == name)


def test_without_cuda_the_message_names_it_and_every_way_to_declare_it(engine_settings):
    with pytest.raises(ResolveError) as err:
        resolve_environment(_spec("needscuda"))
    text = str(err.value)
    assert "__cuda >=12" in text  # the solver's own explanation is kept
    assert "The target (linux-64) is resolved with no __cuda" in text
    for way in ('@sys_packages(packages={"__cuda": "12.4"})', "@sys_packages_base",
                "'--sys-pkg __cuda==12.4' in requirements.txt", "a 'sys:' section in environment.yml",
                "METAFLOW_CONDA_SYS_DEFAULT_GPU_PACKAGES"):
        assert way in text


def test_a_driver_too_old_is_named_with_its_version(engine_settings):
    with pytest.raises(ResolveError, match="resolved with __cuda 11.8: declare"):
        resolve_environment(_spec("needscuda", sys_packages=(("__cuda", "11.8"),)))


@pytest.mark.parametrize("cuda, expected", [("12.4", "1.0.0"), ("12.8", "2.0.0")])
def test_the_declared_cuda_decides_what_resolves(engine_settings, cuda, expected):
    env = resolve_environment(_spec("needscuda", sys_packages=(("__cuda", cuda),)))
    assert _version(env, "needscuda") == expected
    assert env.spec.sys_packages == (("__cuda", cuda),)  # the lock records it


def test_requirements_txt_declaration(engine_settings, tmp_path):
    path = tmp_path / "requirements.txt"
    path.write_text("--conda-pkg needscuda\n--sys-pkg __cuda==12.4\n")
    assert _version(resolve_environment(parse_file(str(path))), "needscuda") == "1.0.0"


@pytest.mark.parametrize("text", [
    "dependencies:\n  - needscuda\nsys:\n  - __cuda==12.8\n",
    "dependencies:\n  - needscuda\n  - sys:\n    - __cuda=12.8\n",
])
def test_environment_yml_declaration(engine_settings, tmp_path, text):
    path = tmp_path / "environment.yml"
    path.write_text(text)
    assert _version(resolve_environment(parse_file(str(path))), "needscuda") == "2.0.0"


def test_default_setting_declaration_and_the_request_wins(engine_settings, monkeypatch):
    monkeypatch.setenv("METAFLOW_CONDA_SYS_DEFAULT_PACKAGES", '{"linux-64": {"__cuda": "12.4"}}')
    assert _version(resolve_environment(_spec("needscuda")), "needscuda") == "1.0.0"
    env = resolve_environment(_spec("needscuda", sys_packages=(("__cuda", "12.8"),)))
    assert _version(env, "needscuda") == "2.0.0"


def test_a_higher_glibc_lets_a_package_resolve_a_lower_one_stops_python(engine_settings):
    with pytest.raises(ResolveError, match="resolved with __glibc 2.28"):
        resolve_environment(_spec("needsnewglibc"))
    env = resolve_environment(_spec("needsnewglibc", sys_packages=(("__glibc", "99.1"),)))
    assert _version(env, "needsnewglibc") == "1.0.0"
    with pytest.raises(ResolveError, match=r"(?s)__glibc >=2\.17.*resolved with __glibc 2\.12"):
        resolve_environment(_spec("tinyutil", sys_packages=(("__glibc", "2.12"),)))


def test_extending_an_environment_adds_the_declarations_of_the_addition(engine_settings, tmp_path):
    from metaflow_extensions.envs.plugins.envs.environments import Environments
    from metaflow_extensions.envs.plugins.envs.store.local import LocalIndex

    envs = Environments(index=LocalIndex(tmp_path / "index"))
    base = resolve_environment(_spec("tinyutil"))
    extended = envs.extend(base, _spec("needscuda", sys_packages=(("__cuda", "12.4"),)), dry_run=True)
    assert _version(extended, "needscuda") == "1.0.0"
    assert extended.spec.sys_packages == (("__cuda", "12.4"),)
