"""EnvSpec and its parts: dependency parsing, identity (req_id), serialisation."""
import pytest

from metaflow_extensions.envs.plugins.envs.spec import (
    CondaDep,
    EnvSpec,
    PypiDep,
    PypiSources,
    SpecError,
)


@pytest.mark.parametrize(
    "text, name, version, channel",
    [
        ("pandas", "pandas", None, None),
        ("pandas=1.2", "pandas", "1.2.*", None),  # conda's fuzzy `=`
        ("pandas==1.2", "pandas", "==1.2", None),
        ("pandas>=1", "pandas", ">=1", None),
        ("pandas = >=1", "pandas", ">=1", None),
        ("pandas=>=1.0.0", "pandas", ">=1.0.0", None),
        ("pandas>=1,<2", "pandas", ">=1,<2", None),
        ("conda-forge::numpy", "numpy", None, "conda-forge"),
        ("comet_ml::comet_ml = 3.32.0", "comet_ml", "3.32.0.*", "comet_ml"),
        ("__glibc>=2.17", "__glibc", ">=2.17", None),  # virtual packages keep their `__`
        ("__cuda", "__cuda", None, None),
        ("PyYAML", "pyyaml", None, None),
    ],
)
def test_conda_dep_parse(text, name, version, channel):
    dep = CondaDep.parse(text)
    assert (dep.name, dep.version, dep.channel) == (name, version, channel)


def test_conda_dep_match_spec():
    assert CondaDep.parse("conda-forge::numpy>=1.26").match_spec() == "conda-forge::numpy >=1.26"
    assert str(CondaDep.parse("ffmpeg")) == "ffmpeg"


@pytest.mark.parametrize(
    "text, match",
    [
        ("numpy=1.26=py311_0", r"Build strings are not supported.*'=1\.26'"),
        ("numpy=", r"Missing version after '=' for Conda package 'numpy'"),
        ("numpy[version='>=1']", r"Malformed Conda dependency 'numpy\[version='>=1'\]'.*'name=1\.2'"),
        ("::numpy", r"Empty channel in Conda dependency '::numpy'"),
        ("numpy>=abc!!", r"Malformed version '>=abc!!' for Conda package 'numpy'"),
        ("-numpy", r"Malformed Conda dependency '-numpy'"),
    ],
)
def test_conda_dep_errors(text, match):
    with pytest.raises(SpecError, match=match):
        CondaDep.parse(text)


@pytest.mark.parametrize(
    "text, requirement, name",
    [
        ("numpy >= 1.20", "numpy>=1.20", "numpy"),
        ('numpy>=1.20; python_version >= "3.8"', 'numpy>=1.20; python_version >= "3.8"', "numpy"),
        ("Requests[socks]==2.31", "Requests[socks]==2.31", "requests"),
        ("x @ https://h/x-1.0-py3-none-any.whl", "x @ https://h/x-1.0-py3-none-any.whl", "x"),
        ("git+https://h/r.git#egg=My_Pkg", "git+https://h/r.git#egg=My_Pkg", "my-pkg"),
        ("https://h/pkg_a-1.0-py3-none-any.whl", "https://h/pkg_a-1.0-py3-none-any.whl", "pkg-a"),
        ("./dir", "./dir", None),
        ("/abs/dir", "/abs/dir", None),
        ("file:///tmp/x", "file:///tmp/x", None),
    ],
)
def test_pypi_dep_parse(text, requirement, name):
    dep = PypiDep.parse(text)
    assert (dep.requirement, dep.name) == (requirement, name)


def test_pypi_dep_error_is_one_line_and_says_what_to_write():
    with pytest.raises(SpecError) as info:
        PypiDep.parse("numpy>=1.20 foo")
    message = str(info.value)
    assert "\n" not in message
    assert "Malformed PyPI requirement 'numpy>=1.20 foo'" in message
    assert "'name>=1.0'" in message


def test_env_type():
    pandas = (PypiDep.parse("pandas"),)
    ffmpeg = (CondaDep.parse("ffmpeg"),)
    assert EnvSpec(conda_deps=ffmpeg).env_type == "conda-only"
    assert EnvSpec(pypi_deps=pandas).env_type == "pypi-only"
    assert EnvSpec(conda_deps=ffmpeg, pypi_deps=pandas).env_type == "mixed"


def test_bad_platform_and_python():
    with pytest.raises(SpecError, match="Unknown platform 'win-64'"):
        EnvSpec(platform="win-64")
    with pytest.raises(SpecError, match="Malformed version '>=>=3' for python"):
        EnvSpec(python=">=>=3")


# -- identity ---------------------------------------------------------------------------------
def _spec(conda=(), pypi=(), **kwargs):
    return EnvSpec(
        conda_deps=tuple(CondaDep.parse(c) for c in conda),
        pypi_deps=tuple(PypiDep.parse(p) for p in pypi),
        **kwargs,
    )


def test_req_id_ignores_dependency_order():
    one = _spec(["pandas>=1", "ffmpeg"], ["requests", "numpy>=1.20"], python="3.10.*")
    two = _spec(["ffmpeg", "pandas>=1"], ["numpy>=1.20", "requests"], python="3.10.*")
    assert one.req_id == two.req_id
    assert len(one.req_id) == 40


def test_req_id_changes_with_any_constraint():
    base = _spec(["pandas>=1"], ["numpy>=1.20"])
    assert base.req_id != _spec(["pandas>=2"], ["numpy>=1.20"]).req_id
    assert base.req_id != _spec(["pandas>=1"], ["numpy>=1.21"]).req_id
    assert base.req_id != _spec(["pandas>=1"], ["numpy>=1.20"], python=">=3.9").req_id
    assert base.req_id != _spec(["pandas>=1"], ["numpy>=1.20"], channels=("conda-forge",)).req_id
    extra = PypiSources(extra_index_urls=("https://idx.example.com/simple",))
    assert base.req_id != _spec(["pandas>=1"], ["numpy>=1.20"], pypi_sources=extra).req_id


def test_req_id_ignores_platform():
    spec = _spec(["pandas"])
    assert spec.req_id == spec.for_platform("osx-arm64").req_id


def test_credentials_do_not_change_req_id_and_never_appear_in_to_dict():
    plain = _spec(
        pypi=["pkg @ git+https://github.com/o/r.git@v1"],
        pypi_sources=PypiSources(
            index_url="https://idx.example.com/simple",
            extra_index_urls=("https://extra.example.com/simple",),
        ),
    )
    secret = _spec(
        pypi=["pkg @ git+https://tok3n@github.com/o/r.git@v1"],
        pypi_sources=PypiSources(
            index_url="https://alice:s3cret@idx.example.com/simple",
            extra_index_urls=("https://bob:hunter2@extra.example.com/simple",),
        ),
    )
    assert plain.req_id == secret.req_id
    dumped = repr(secret.to_dict())
    for word in ("s3cret", "alice", "hunter2", "bob", "tok3n"):
        assert word not in dumped
    assert secret.to_dict()["pypi_sources"]["index_url"] == "https://idx.example.com/simple"


def test_to_dict_from_dict_round_trip():
    spec = _spec(
        ["conda-forge::pandas>=1", "__glibc>=2.17"],
        ['numpy>=1.20; python_version >= "3.8"'],
        channels=("conda-forge",),
        python="3.10.*",
        platform="linux-aarch64",
        pypi_sources=PypiSources(find_links=("https://h/links.html",), pre=True, no_index=True),
    )
    again = EnvSpec.from_dict(spec.to_dict())
    assert again.to_dict() == spec.to_dict()
    assert again.req_id == spec.req_id
    assert again.platform == "linux-aarch64"
