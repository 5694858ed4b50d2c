"""pyproject.toml parser: dependencies, requires-python, index sources, errors."""
import textwrap

import pytest

from metaflow_extensions.envs.plugins.envs.spec import SpecError
from metaflow_extensions.envs.plugins.envs.spec.pyproject import parse_file, parse_text, requires_python_spec

PROJECT = """
[project]
name = "demo"
requires-python = ">=3.9"
dependencies = ["pandas>=1.0.0", "numpy", 'requests[socks]; python_version >= "3.8"']
"""


def parse(text):
    return parse_text(textwrap.dedent(text), "pyproject.toml")


def with_project(extra):
    return parse(PROJECT + textwrap.dedent(extra))


def test_project_dependencies_and_python():
    spec = parse(
        PROJECT
        + """
[project.optional-dependencies]
test = ["pytest"]

[dependency-groups]
dev = ["ruff"]

[tool.black]
line-length = 100
"""
    )
    # optional dependencies and dependency groups are not part of the environment
    assert [str(d) for d in spec.pypi_deps] == [
        "pandas>=1.0.0",
        "numpy",
        'requests[socks]; python_version >= "3.8"',
    ]
    assert spec.python == ">=3.9"
    assert spec.conda_deps == () and spec.channels == ()
    assert spec.pypi_sources.index_url is None and spec.pypi_sources.extra_index_urls == ()
    assert spec.env_type == "pypi-only"


def test_no_dependencies_and_no_python():
    spec = parse('[project]\nname = "x"\n')
    assert spec.pypi_deps == () and spec.python is None


@pytest.mark.parametrize(
    "requires, expected",
    [
        (">=3.9", ">=3.9"),
        (">3.8", ">3.8"),
        ("<3.13", "<3.13"),
        ("<=3.12", "<=3.12"),
        ("==3.10", "==3.10"),
        ("==3.10.*", "3.10.*"),
        ("!=3.9.1", "!=3.9.1"),
        ("!=3.10.*", "!=3.10.*"),
        ("~=3.10", ">=3.10,<4"),
        ("~=3.10.2", ">=3.10.2,<3.11"),
        ("<3.13, >=3.9, !=3.10.*", ">=3.9,<3.13,!=3.10.*"),
        ("", None),
    ],
)
def test_python_spec_translation(requires, expected):
    assert requires_python_spec(requires) == expected


def test_requires_python_errors():
    with pytest.raises(SpecError, match=r"pyproject\.toml, line 3: requires-python clause '===3\.10' .*'==3\.10'"):
        parse('[project]\nname = "x"\nrequires-python = "===3.10"\n')
    with pytest.raises(SpecError, match=r"line 3: requires-python '>=three' is not a valid version specifier"):
        parse('[project]\nname = "x"\nrequires-python = ">=three"\n')
    with pytest.raises(SpecError, match=r"requires-python must be a string"):
        parse('[project]\nname = "x"\nrequires-python = 3.9\n')


def test_uv_indexes():
    spec = with_project(
        """
        [[tool.uv.index]]
        name = "internal"
        url = "https://internal.example.com/simple"
        default = true

        [[tool.uv.index]]
        name = "pytorch"
        url = "https://download.pytorch.org/whl/cu121"
        authenticate = "always"

        [[tool.uv.index]]
        name = "wheels"
        url = "https://h.example.com/wheels/"
        format = "flat"
        """
    )
    src = spec.pypi_sources
    assert src.index_url == "https://internal.example.com/simple"
    assert src.extra_index_urls == ("https://download.pytorch.org/whl/cu121",)
    assert src.find_links == ("https://h.example.com/wheels/",)


def test_uv_legacy_settings_and_ignored_ones():
    spec = with_project(
        """
        [tool.uv]
        index-url = "https://idx.example.com/simple"
        extra-index-url = ["https://x1.example.com/simple", "https://x2.example.com/simple"]
        find-links = "https://h.example.com/links.html"
        no-index = false
        dev-dependencies = ["pytest"]
        managed = true
        """
    )
    src = spec.pypi_sources
    assert src.index_url == "https://idx.example.com/simple"
    assert src.extra_index_urls == ("https://x1.example.com/simple", "https://x2.example.com/simple")
    assert src.find_links == ("https://h.example.com/links.html",)
    assert src.no_index is False


def test_poetry_sources_without_priority_are_extra():
    spec = with_project(
        """
        [[tool.poetry.source]]
        name = "custom"
        url = "https://pypi.custom.com/simple"

        [[tool.poetry.source]]
        name = "another"
        url = "https://another.custom.com/simple"
        priority = "supplemental"

        [[tool.poetry.source]]
        name = "third"
        url = "https://third.custom.com/simple"
        priority = "explicit"
        """
    )
    assert spec.pypi_sources.index_url is None
    assert spec.pypi_sources.extra_index_urls == (
        "https://pypi.custom.com/simple",
        "https://another.custom.com/simple",
        "https://third.custom.com/simple",
    )


def test_poetry_primary_source_replaces_pypi():
    spec = with_project(
        """
        [[tool.poetry.source]]
        name = "extra"
        url = "https://extra.example.com/simple"
        priority = "supplemental"

        [[tool.poetry.source]]
        name = "main"
        url = "https://main.example.com/simple"
        priority = "primary"

        [[tool.poetry.source]]
        name = "second"
        url = "https://second.example.com/simple"
        priority = "primary"
        """
    )
    assert spec.pypi_sources.index_url == "https://main.example.com/simple"
    assert spec.pypi_sources.extra_index_urls == (
        "https://extra.example.com/simple",
        "https://second.example.com/simple",
    )


def test_poetry_default_beats_primary_and_legacy_booleans():
    spec = with_project(
        """
        [[tool.poetry.source]]
        name = "p"
        url = "https://p.example.com/simple"
        priority = "primary"

        [[tool.poetry.source]]
        name = "d"
        url = "https://d.example.com/simple"
        default = true
        """
    )
    assert spec.pypi_sources.index_url == "https://d.example.com/simple"
    assert spec.pypi_sources.extra_index_urls == ("https://p.example.com/simple",)


@pytest.mark.parametrize(
    "extra, match",
    [
        (
            '[[tool.uv.index]]\nname = "a"\nurl = "https://a.example.com/simple"\nexplicit = true\n',
            r"\[\[tool\.uv\.index\]\] 'a': 'explicit = true' indexes are only used through "
            r"\[tool\.uv\.sources\]",
        ),
        (
            '[[tool.uv.index]]\nname = "a"\nurl = "https://a.example.com/simple"\nweird = 1\n',
            r"\[\[tool\.uv\.index\]\] 'a': setting 'weird' is not supported",
        ),
        ('[[tool.uv.index]]\nname = "a"\n', r"\[\[tool\.uv\.index\]\] 'a' needs a 'url'"),
        (
            '[[tool.uv.index]]\nname = "a"\nurl = "https://a.example.com/simple"\nformat = "x"\n',
            r"format 'x' is unknown",
        ),
        (
            '[[tool.uv.index]]\nname = "a"\nurl = "https://a.example.com/simple"\ndefault = "yes"\n',
            r"default must be true or false",
        ),
        (
            '[[tool.uv.index]]\nurl = "https://a.example.com/simple"\ndefault = true\n'
            '[[tool.uv.index]]\nurl = "https://b.example.com/simple"\ndefault = true\n',
            r"more than one index replaces PyPI",
        ),
        (
            '[tool.uv]\nindex-url = "https://a.example.com/simple"\n'
            '[[tool.poetry.source]]\nname = "b"\nurl = "https://b.example.com/simple"\n'
            'priority = "primary"\n',
            r"more than one index replaces PyPI \(\[tool\.uv\] index-url, \[\[tool\.poetry\.source\]\] 'b'\)",
        ),
        ('[tool.uv.sources]\nfoo = { git = "https://h/r.git" }\n', r"\[tool\.uv\] setting 'sources' is not supported"),
        ('[tool.uv]\noverride-dependencies = ["numpy<2"]\n', r"line \d+: \[tool\.uv\] setting 'override-dependencies'"),
        ('[tool.uv.pip]\nextra-index-url = ["https://x/simple"]\n', r"\[tool\.uv\] setting 'pip' is not supported"),
        ('[tool.uv]\nextra-index-url = [1]\n', r"\[tool\.uv\] extra-index-url must be a string or a list"),
        ('[tool.uv]\nextra-index-url = ["idx"]\n', r"\[tool\.uv\] extra-index-url 'idx' is not a URL"),
        (
            '[[tool.poetry.source]]\nname = "c"\nurl = "https://c.example.com/simple"\npriority = "tertiary"\n',
            r"\[\[tool\.poetry\.source\]\] 'c': priority 'tertiary' is unknown",
        ),
        ('[[tool.poetry.source]]\nname = "c"\n', r"\[\[tool\.poetry\.source\]\] 'c' needs a 'url'"),
        (
            '[[tool.poetry.source]]\nname = "c"\nurl = "https://c/simple"\nlinks = "x"\n',
            r"'c': setting 'links' is not supported",
        ),
        (
            '[tool.poetry.dependencies]\npython = "^3.10"\nnumpy = "*"\n',
            r"line \d+: \[tool\.poetry\.dependencies\] is not read: move those packages into "
            r"'\[project\] dependencies'",
        ),
        ('[tool]\npoetry = 1\n', r"\[tool\.poetry\] must be a table"),
    ],
)
def test_source_errors(extra, match):
    with pytest.raises(SpecError, match=match):
        parse(PROJECT + extra)


@pytest.mark.parametrize(
    "text, match",
    [
        ('[tool.poetry]\nname = "x"\n', r"pyproject\.toml: no \[project\] table: list the packages"),
        (
            '[tool.poetry.dependencies]\nnumpy = "*"\n',
            r"no \[project\] table.*Poetry's \[tool\.poetry\.dependencies\] is not read",
        ),
        ('project = "x"\n', r"no \[project\] table"),
        ('[project]\nname = "x"\ndependencies = [\n  "pandas",\n', r"pyproject\.toml, line 4: not valid TOML \(Invalid value\)"),
        ('[project\n', r"pyproject\.toml, line 1: not valid TOML \(.*\): fix the syntax there"),
        (
            '[project]\nname = "x"\ndynamic = ["dependencies"]\n',
            r"line 3: \[project\] dependencies are declared dynamic",
        ),
        ('[project]\nname = "x"\ndependencies = "pandas"\n', r"line 3: \[project\] dependencies must be a list"),
        (
            '[project.optional-dependencies]\nt = ["a"]\n[project]\nname = "x"\ndependencies = "a"\n',
            r"line 5: \[project\] dependencies must be a list",
        ),
        (
            '[project]\nname = "x"\n[[tool.uv.index]]\nname = "a"\nurl = "https://a/simple"\n'
            '[[tool.uv.index]]\nname = "b"\n',
            r"line 7: \[\[tool\.uv\.index\]\] 'b' needs a 'url'",
        ),
        ('[project]\nname = "x"\ndependencies = [1]\n', r"dependencies entry 1 is not a string"),
        (
            '[project]\nname = "x"\ndependencies = [\n  "pandas",\n  "numpy>=1 foo",\n]\n',
            r"pyproject\.toml, line 5: in \[project\] dependencies: Malformed PyPI requirement 'numpy>=1 foo'",
        ),
    ],
)
def test_project_errors(text, match):
    with pytest.raises(SpecError, match=match):
        parse_text(text, "pyproject.toml")


def test_parse_file(tmp_path):
    path = tmp_path / "pyproject.toml"
    path.write_text(PROJECT)
    assert parse_file(str(path)).python == ">=3.9"
    with pytest.raises(SpecError, match=r"'.*nothing\.toml' does not exist"):
        parse_file(str(tmp_path / "nothing.toml"))


def test_tables_of_packages_not_included_are_named_in_warnings():
    spec = parse(PROJECT + """
        [project.optional-dependencies]
        plot = ["matplotlib"]
        gpu = ["cupy"]

        [dependency-groups]
        test = ["pytest"]
        """)
    assert spec.warnings == (
        "pyproject.toml, line 7: [project.optional-dependencies] (gpu, plot) is not included: list what "
        "the environment needs in '[project] dependencies'.",
        "pyproject.toml, line 11: [dependency-groups] (test) is not included: list what the environment "
        "needs in '[project] dependencies'.",
    )
    assert parse(PROJECT).warnings == ()
    assert spec.req_id == parse(PROJECT).req_id
