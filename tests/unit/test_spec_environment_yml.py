"""environment.yml parser: every supported form and every error."""
import textwrap

import pytest

from metaflow_extensions.envs.plugins.envs.spec import SpecError
from metaflow_extensions.envs.plugins.envs.spec.environment_yml import parse_file, parse_text


def parse(text):
    return parse_text(textwrap.dedent(text), "environment.yml")


def conda(spec):
    return [str(d) for d in spec.conda_deps]


def pypi(spec):
    return [str(d) for d in spec.pypi_deps]


def test_full_file():
    spec = parse(
        """
        name: my-env
        channels:
          - conda-forge
          - bioconda
        dependencies:
          - python=3.10
          - pandas>=1.0
          - ffmpeg  # a comment
          - pip
          - pip:
            - requests>=2
            - numpy>=1.20; python_version >= "3.8"
        """
    )
    assert spec.channels == ("conda-forge", "bioconda")
    assert spec.python == "3.10.*"
    assert conda(spec) == ["pandas >=1.0", "ffmpeg", "pip"]  # python is EnvSpec.python
    assert pypi(spec) == ["requests>=2", 'numpy>=1.20; python_version >= "3.8"']
    assert spec.env_type == "mixed"


@pytest.mark.parametrize(
    "dep, expected",
    [
        ("pkg=1.2", "pkg 1.2.*"),
        ("pkg==1.2", "pkg ==1.2"),
        ("pkg>=1", "pkg >=1"),
        ("pkg = >=1", "pkg >=1"),
        ("pkg=>=1.0.0", "pkg >=1.0.0"),
        ("pkg >=1,<2", "pkg >=1,<2"),
        ("chan::pkg", "chan::pkg"),
        ("chan::pkg = 3.32.0", "chan::pkg 3.32.0.*"),
        ("'__glibc>=2.17'", "__glibc >=2.17"),
    ],
)
def test_conda_version_forms(dep, expected):
    assert conda(parse("dependencies:\n  - %s\n" % dep)) == [expected]


@pytest.mark.parametrize(
    "dep, python",
    [("python=3.10", "3.10.*"), ("python>=3.9", ">=3.9"), ("python==3.11.4", "==3.11.4"),
     ("python >=3.9,<3.13", ">=3.9,<3.13"), ("python", None)],
)
def test_python_becomes_the_python_constraint(dep, python):
    spec = parse("dependencies:\n  - %s\n  - pandas\n" % dep)
    assert spec.python == python
    assert conda(spec) == ["pandas"]


def test_pip_is_kept_as_the_user_wrote_it():
    assert conda(parse("dependencies:\n  - pip>=23\n  - zlib\n")) == ["pip >=23", "zlib"]
    assert conda(parse("dependencies:\n  - conda-forge::pip\n")) == ["conda-forge::pip"]


def test_pip_section_rules():
    spec = parse(
        """
        dependencies:
          - pandas
          - pip:
            - --index-url https://idx.example.com/simple
            - --extra-index-url=https://download.pytorch.org/whl/cu121
            - -f https://h/links.html
            - --trusted-host idx.example.com
            - --pre
            - outlier-detector = 0.0.3
            - graphing=1.2
            - requests[socks] = 2.31.0
            - clip @ git+https://github.com/openai/CLIP.git@d50d76d
            - git+https://h/r.git#egg=thing
            - ./local
            - numpy==1.26.4
          - pip:
            - itsdangerous
        """
    )
    assert pypi(spec) == [
        "outlier-detector==0.0.3",
        "graphing==1.2",
        "requests[socks]==2.31.0",
        "clip @ git+https://github.com/openai/CLIP.git@d50d76d",
        "git+https://h/r.git#egg=thing",
        "./local",
        "numpy==1.26.4",
        "itsdangerous",
    ]
    src = spec.pypi_sources
    assert src.index_url == "https://idx.example.com/simple"
    assert src.extra_index_urls == ("https://download.pytorch.org/whl/cu121",)
    assert src.find_links == ("https://h/links.html",)
    assert src.trusted_hosts == ("idx.example.com",)
    assert src.pre is True


def test_blank_lines_unknown_sections_and_nodefaults():
    spec = parse(
        """
        unknown_section:
          - some_value
        prefix: /opt/env
        variables:
          FOO: bar
        channels:
          - conda-forge
          - nodefaults

        dependencies:

          - pandas

          - numpy
        """
    )
    assert spec.channels == ("conda-forge",)
    assert conda(spec) == ["pandas", "numpy"]
    # Nothing is dropped silently: each section not read is named, with its line.
    assert spec.warnings == (
        "environment.yml, line 2: section 'unknown_section:' is ignored: metaflow-envs does not know it; "
        "check its spelling (read: name, channels, pypi-indices, dependencies, sys).",
        "environment.yml, line 4: section 'prefix:' is ignored: environments live in metaflow-envs' cache; "
        "use 'metaflow environment create --prefix DIR' to create one at a path.",
        "environment.yml, line 5: section 'variables:' is ignored: metaflow-envs sets no environment "
        "variables in its environments; set them in the step (e.g. with @environment).",
    )
    # Warnings are not part of the request.
    assert spec.req_id == parse("channels: [conda-forge]\ndependencies: [pandas, numpy]\n").req_id


def test_a_file_with_only_read_sections_has_no_warnings():
    assert parse("name: x\nchannels: [conda-forge]\npypi-indices: []\ndependencies: [pandas]\n").warnings == ()


def test_pypi_indices_are_extra_indexes_before_those_of_the_pip_section():
    spec = parse(
        """
        pypi-indices:
          - https://idx.example.com/simple
          - https://other.example.com/simple
        dependencies:
          - pip:
            - --extra-index-url https://pip-section.example.com/simple
            - --extra-index-url https://other.example.com/simple
            - requests
        """
    )
    src = spec.pypi_sources
    assert src.index_url is None  # the default index stays: filled in when resolving
    assert src.extra_index_urls == ("https://idx.example.com/simple", "https://other.example.com/simple",
                                    "https://pip-section.example.com/simple")
    assert spec.warnings == ()


@pytest.mark.parametrize(
    "text, match",
    [
        ("pypi-indices: https://x.example/simple\ndependencies: [a]\n",
         r"environment\.yml, line 1: 'pypi-indices:' must be a list of index URLs.*got 'https://x"),
        ("pypi-indices:\n  - idx.example.com/simple\ndependencies: [a]\n",
         r"line 2: pypi-indices entry 'idx\.example\.com/simple' is not a URL"),
        ("pypi-indices:\n  - {url: x}\ndependencies: [a]\n", r"line 2: a PyPI index must be text"),
        ("dependencies:\n  - pip:\n    - --conda-channel pytorch\n",
         r"line 3: '--conda-channel pytorch' is not allowed here: list 'pytorch' under 'channels:'"),
    ],
)
def test_pypi_indices_and_conda_channel_errors(text, match):
    with pytest.raises(SpecError, match=match):
        parse(text)


def test_empty_lists_are_fine():
    spec = parse("channels:\ndependencies: []\n")
    assert spec.conda_deps == () and spec.channels == ()
    assert parse("dependencies:\n  - pandas\n  - pip:\n").pypi_deps == ()


@pytest.mark.parametrize(
    "text, match",
    [
        ("dependencies:\n  - [pandas\n", r"environment\.yml, line 3: not valid YAML \(.*\): check the indentation"),
        ("dependencies:\n  - a\n  b: 1\n", r"environment\.yml, line 3: not valid YAML \(while parsing a block"),
        ("dependencies:\n  - a\n\t- b\n", r"line 3: not valid YAML \(.*found character '\\t'"),
        ("", r"environment\.yml: the file is empty: write e\.g\. 'channels: \[conda-forge\]'"),
        ("# only a comment\n", r"the file is empty"),
        ("- pandas\n- numpy\n", r"line 1: expected a mapping with 'channels:' and 'dependencies:'.*got a list"),
        ("just text\n", r"line 1: expected a mapping.*got 'just text'"),
        ("name: x\nchannels: [conda-forge]\n", r"environment\.yml: no 'dependencies:' listed"),
        ("dependencies:\n", r"line 1: no 'dependencies:' listed"),
        ("dependencies: pandas\n", r"line 1: 'dependencies:' must be a list \('- pkg' lines\), got 'pandas'"),
        ("channels: conda-forge\ndependencies: [a]\n", r"line 1: 'channels:' must be a list.*got 'conda-forge'"),
        ("channels:\n  - conda forge\ndependencies: [a]\n", r"line 2: 'conda forge' is not a channel"),
        ("channels:\n  - [x]\ndependencies: [a]\n", r"line 2: a channel must be text, got a list"),
        ("name: [a]\ndependencies: [a]\n", r"line 1: 'name' must be text, got a list"),
        ("dependencies:\n  - pandas\n  - 1.5\n", r"line 3: a dependency must be text, got '1\.5': quote it"),
        ("dependencies:\n  -\n", r"line 2: a dependency must be text, got nothing"),
        (
            "dependencies:\n  - pandas\n  - conda:\n    - numpy\n",
            r"line 3: unknown entry 'conda:' in dependencies: only '- pip:' and '- sys:' may hold a list",
        ),
        ("dependencies:\n  - pip: requests\n", r"line 2: 'pip:' must be a list of requirements"),
        ("dependencies:\n  - pip:\n    - 2.0\n", r"line 3: a pip requirement must be text"),
        ("dependencies:\n  - pandas\n  - numpy=1.26=py_0\n", r"line 3: Build strings are not supported for Conda package 'numpy'"),
        ("dependencies:\n  - numpy[x]\n", r"line 2: Malformed Conda dependency 'numpy\[x\]'"),
        ("dependencies:\n  - pip:\n    - a\n    - numpy>=1 foo\n", r"line 4: Malformed PyPI requirement 'numpy>=1 foo'"),
        ("dependencies:\n  - pip:\n    - -r requirements.txt\n", r"line 3: '-r requirements.txt': Environment file .*requirements\.txt' does not exist"),
        ("dependencies:\n  - pip:\n    - -e .\n", r"line 3: option '-e': editable installs"),
        ("dependencies:\n  - pip:\n    - --no-deps\n", r"line 3: option '--no-deps' is not supported"),
        ("dependencies:\n  - pip:\n    - --conda-pkg ffmpeg\n", r"line 3: '--conda-pkg ffmpeg' is not allowed here: list 'ffmpeg' under 'dependencies:'"),
        ("dependencies:\n  - python=3.10\n  - python>=3.9\n", r"line 3: python is constrained twice \(first on line 2\)"),
        ("dependencies:\n  - conda-forge::python=3.10\n", r"line 2: python cannot come from a chosen channel.*'python 3\.10\.\*'.*'conda-forge' under channels"),
        ("dependencies: [a]\ndependencies: [b]\n", r"line 2: 'dependencies:' appears twice \(first on line 1\)"),
        ("? [a]\n: b\ndependencies: [a]\n", r"a top-level key must be text"),
    ],
)
def test_errors_name_file_line_and_culprit(text, match):
    with pytest.raises(SpecError, match=match):
        parse_text(text, "environment.yml")


def test_parse_file(tmp_path):
    path = tmp_path / "env.yaml"
    path.write_text("channels: [conda-forge]\ndependencies:\n  - numpy\n")
    spec = parse_file(str(path))
    assert spec.channels == ("conda-forge",) and conda(spec) == ["numpy"]
    with pytest.raises(SpecError, match=r"does not exist"):
        parse_file(str(tmp_path / "missing.yml"))
    bad = tmp_path / "bad.yml"
    bad.write_text("dependencies:\n  - pip:\n    - numpy>=1 foo\n")
    with pytest.raises(SpecError, match=r"bad\.yml, line 3: Malformed PyPI requirement"):
        parse_file(str(bad))
