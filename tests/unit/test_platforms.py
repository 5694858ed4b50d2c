"""Target platforms are derived from the target alone, never from the host."""
import pytest
from packaging.tags import Tag

from metaflow_extensions.envs.plugins.envs.errors import SpecError
from metaflow_extensions.envs.plugins.envs.resolve.platforms import best_wheel, platform_info, sys_packages_for
from metaflow_extensions.envs.plugins.envs.spec.locked import LockedFile


def test_linux_virtual_packages_and_uv_platform(monkeypatch):
    monkeypatch.setenv("METAFLOW_CONDA_GLIBC_VERSION", "2.31")
    info = platform_info("linux-aarch64")
    assert info.virtual_packages()["__glibc"] == ("2.31", "0")
    assert "__osx" not in info.virtual_packages()
    assert info.uv_python_platform() == "aarch64-manylinux_2_31"
    plats = info.wheel_platform_tags()
    assert plats[0] == "manylinux_2_31_aarch64"
    assert "manylinux2014_aarch64" in plats and "manylinux_2_32_aarch64" not in plats


def test_uv_platform_falls_back_to_a_manylinux_uv_knows(monkeypatch):
    monkeypatch.setenv("METAFLOW_CONDA_GLIBC_VERSION", "2.24")
    assert platform_info("linux-64").uv_python_platform() == "x86_64-manylinux_2_17"


def test_osx_targets(monkeypatch):
    monkeypatch.setenv("METAFLOW_CONDA_OSX_VERSION", "12.0")
    arm = platform_info("osx-arm64")
    assert arm.virtual_packages()["__osx"] == ("12.0", "0")
    assert arm.uv_python_platform() == "aarch64-apple-darwin"
    assert arm.uv_environment() == {"MACOSX_DEPLOYMENT_TARGET": "12.0"}
    assert platform_info("osx-64").uv_python_platform() == "x86_64-apple-darwin"
    assert Tag("cp311", "cp311", "macosx_11_0_arm64") in arm.wheel_tags("3.11")


@pytest.mark.parametrize("subdir", ["osx-arm64", "osx-64"])
def test_osx_default_is_uvs_for_conda_and_wheels_and_recorded(monkeypatch, subdir):
    monkeypatch.setenv("METAFLOW_CONDA_OSX_VERSION", "")  # empty: the platform's default
    info = platform_info(subdir, sys_packages_for(subdir, ()))
    assert info.virtual_packages()["__osx"] == ("13.0", "0")
    assert info.uv_environment() == {"MACOSX_DEPLOYMENT_TARGET": "13.0"}
    assert info.wheel_platform_tags()[0].startswith("macosx_13_0_")
    assert sys_packages_for(subdir, ()) == (("__osx", "13.0"),)  # the lock's spec says so
    assert sys_packages_for(subdir, (("__osx", "12.1"),)) == (("__osx", "12.1"),)  # a declaration wins


def test_unknown_platform_is_a_clear_error():
    with pytest.raises(SpecError, match="Unknown platform 'win-64'"):
        platform_info("win-64")


def _wheels(*names):
    return tuple(LockedFile(url="https://x/%s" % n, sha256="0" * 64, filename=n) for n in names)


def test_best_wheel_is_the_targets_most_specific():
    entry = _wheels(
        "charset_normalizer-3.5.2-py3-none-any.whl",
        "charset_normalizer-3.5.2-cp311-cp311-macosx_10_9_universal2.whl",
        "charset_normalizer-3.5.2-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
        "charset_normalizer-3.5.2-cp311-cp311-macosx_11_0_arm64.whl",
    )
    linux = best_wheel(entry, platform_info("linux-64").wheel_tags("3.11"))
    assert linux.filename.endswith("manylinux2014_x86_64.whl")
    arm = best_wheel(entry, platform_info("osx-arm64").wheel_tags("3.11"))
    assert arm.filename.endswith("macosx_11_0_arm64.whl")
    aarch = best_wheel(entry, platform_info("linux-aarch64").wheel_tags("3.11"))
    assert aarch.filename.endswith("py3-none-any.whl")


def test_no_compatible_wheel_gives_none():
    entry = _wheels("numpy-2.0-cp312-cp312-manylinux_2_28_x86_64.whl")
    assert best_wheel(entry, platform_info("linux-64").wheel_tags("3.11")) is None
    # A wheel needing a newer glibc than the target's is not compatible either.
    entry = _wheels("numpy-2.0-cp311-cp311-manylinux_2_34_x86_64.whl")
    assert best_wheel(entry, platform_info("linux-64").wheel_tags("3.11")) is None


def test_best_wheel_keeps_to_the_allowed_hashes_and_ignores_the_locks_order():
    """One choice for uv's output (with pip's hash-checking mode) and for lock files: the
    allowed sha256 narrow it, and equally good wheels give the same pick in any order."""
    tags = platform_info("linux-64").wheel_tags("3.11")
    specific = LockedFile(url="https://x/a", sha256="1" * 64, filename="a-1.0-cp311-cp311-manylinux_2_17_x86_64.whl")
    pure = LockedFile(url="https://x/b", sha256="2" * 64, filename="a-1.0-py3-none-any.whl")
    assert best_wheel((pure, specific), tags) == specific
    assert best_wheel((pure, specific), tags, allowed=frozenset(["2" * 64])) == pure
    assert best_wheel((pure, specific), tags, allowed=frozenset(["3" * 64])) is None
    build1 = LockedFile(url="https://x/c", sha256="3" * 64, filename="a-1.0-1-py3-none-any.whl")
    build2 = LockedFile(url="https://x/d", sha256="4" * 64, filename="a-1.0-2-py3-none-any.whl")
    assert best_wheel((build1, build2), tags) == best_wheel((build2, build1), tags) == build1
