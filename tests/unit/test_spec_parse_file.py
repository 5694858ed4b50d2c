"""spec.parse_file: choosing the parser by kind or file name."""
import pytest

from metaflow_extensions.envs.plugins.envs.spec import SpecError, kind_of, parse_file, parse_text


@pytest.mark.parametrize(
    "name, kind",
    [
        ("requirements.txt", "requirements"),
        ("reqs.in", "requirements"),
        ("environment.yml", "environment-yml"),
        ("ENV.YAML", "environment-yml"),
        ("pyproject.toml", "pyproject"),
    ],
)
def test_kind_from_extension(name, kind):
    assert kind_of(name) == kind


def test_dispatch_by_extension(tmp_path):
    (tmp_path / "r.txt").write_text("--conda-pkg ffmpeg\npandas>=1.0\n")
    (tmp_path / "e.yml").write_text("dependencies:\n  - python=3.10\n  - pandas\n")
    (tmp_path / "p.toml").write_text('[project]\nname = "x"\ndependencies = ["numpy"]\n')
    r = parse_file(str(tmp_path / "r.txt"))
    assert [str(d) for d in r.conda_deps] == ["ffmpeg"]
    assert [str(d) for d in r.pypi_deps] == ["pandas>=1.0"]
    e = parse_file(str(tmp_path / "e.yml"))
    assert e.python == "3.10.*" and [str(d) for d in e.conda_deps] == ["pandas"]
    p = parse_file(str(tmp_path / "p.toml"))
    assert [str(d) for d in p.pypi_deps] == ["numpy"]


def test_kind_overrides_extension(tmp_path):
    path = tmp_path / "deps.conf"
    path.write_text("dependencies:\n  - numpy\n")
    assert [str(d) for d in parse_file(str(path), kind="environment-yml").conda_deps] == ["numpy"]
    # the same text read as requirements is a different request
    with pytest.raises(SpecError, match=r"deps\.conf, line 1: Malformed PyPI requirement 'dependencies:'"):
        parse_file(str(path), kind="requirements")


def test_parse_text_by_kind():
    spec = parse_text("pandas\n", "inline", "requirements")
    assert [str(d) for d in spec.pypi_deps] == ["pandas"]


def test_errors(tmp_path):
    with pytest.raises(SpecError, match=r"Cannot tell the format of 'deps\.conf'.*\*\.txt"):
        parse_file("deps.conf")
    with pytest.raises(SpecError, match=r"Unknown environment file kind 'conda' for 'x\.txt': use one of requirements"):
        parse_file("x.txt", kind="conda")
    missing = str(tmp_path / "missing" / "requirements.txt")
    with pytest.raises(SpecError, match=r"Environment file '.*missing/requirements\.txt' does not exist"):
        parse_file(missing)
