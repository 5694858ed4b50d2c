"""Index and find-links values that are not URLs are refused, whatever the input format: a
typo must never leave uv to fall back to PyPI (dependency confusion)."""
import pytest

from metaflow_extensions.envs.plugins.envs.errors import SpecError
from metaflow_extensions.envs.plugins.envs.integration.decorator_rules import (
    spec_from_attributes,
)
from metaflow_extensions.envs.plugins.envs.kinds import Family
from metaflow_extensions.envs.plugins.envs.spec import environment_yml, pyproject, requirements_txt
from metaflow_extensions.envs.plugins.envs.spec.model import EnvSpec, PypiSources

BAD_URLS = ["pypi.example.com/simple", "htps://pypi.example.com/simple", "https://", "https:/x/simple"]


@pytest.mark.parametrize("value", BAD_URLS)
@pytest.mark.parametrize("option", ["--index-url", "--extra-index-url", "-i"])
def test_requirements_txt_index_typos(value, option):
    with pytest.raises(SpecError, match=r"requirements\.txt, line 2: %s '%s' is not a URL" % (option, value)):
        requirements_txt.parse_text("pandas\n%s %s\n" % (option, value), "requirements.txt")


def test_requirements_txt_find_links_must_be_a_url_or_an_existing_directory(tmp_path):
    with pytest.raises(SpecError, match=r"line 1: --find-links 'pypi\.example\.com/wheels' is not a URL or an "
                                        r"existing directory"):
        requirements_txt.parse_text("--find-links pypi.example.com/wheels\n", "requirements.txt")
    with pytest.raises(SpecError, match=r"-f 'htps://h/wheels' is not a URL"):
        requirements_txt.parse_text("-f htps://h/wheels\n", "requirements.txt")
    spec = requirements_txt.parse_text("-f %s\n-f file:///srv/wheels\n" % tmp_path, "requirements.txt")
    assert spec.pypi_sources.find_links == (str(tmp_path), "file:///srv/wheels")


def test_the_message_never_shows_a_password():
    with pytest.raises(SpecError) as err:
        requirements_txt.parse_text("--extra-index-url htps://bob:s3cret@h/simple\n", "requirements.txt")
    assert "s3cret" not in str(err.value) and "htps://h/simple" in str(err.value)


def test_environment_yml_pip_section():
    text = "dependencies:\n  - pip:\n    - --extra-index-url pypi.example.com/simple\n    - pandas\n"
    with pytest.raises(SpecError, match=r"environment\.yml, line 3: --extra-index-url 'pypi\.example\.com/simple' "
                                        r"is not a URL"):
        environment_yml.parse_text(text, "environment.yml")


@pytest.mark.parametrize(
    "table, match",
    [
        ('[tool.uv]\nindex-url = "htps://pypi.example.com/simple"\n',
         r"line 4: \[tool\.uv\] index-url 'htps://pypi\.example\.com/simple' is not a URL"),
        ('[[tool.uv.index]]\nname = "a"\nurl = "pypi.example.com/simple"\n',
         r"line 5: \[\[tool\.uv\.index\]\] 'a' 'pypi\.example\.com/simple' is not a URL"),
        ('[tool.uv]\nfind-links = ["no/such/dir"]\n',
         r"line 4: \[tool\.uv\] find-links 'no/such/dir' is not a URL or an existing directory"),
        ('[[tool.poetry.source]]\nname = "p"\nurl = "https://"\n',
         r"\[\[tool\.poetry\.source\]\] 'p' 'https://' is not a URL"),
    ],
)
def test_pyproject(table, match):
    with pytest.raises(SpecError, match=match):
        pyproject.parse_text('[project]\nname = "x"\n' + table, "pyproject.toml")


@pytest.mark.parametrize(
    "family, attrs, match",
    [
        (Family.PYPI, {"packages": {"six": ""}, "extra_indices": ["pypi.example.com/simple"]},
         r"@pypi, extra_indices: index 'pypi\.example\.com/simple' is not a URL"),
        (Family.PYPI, {"packages": {"six": ""}, "sources": ["htps://h/simple"]},
         r"@pypi, sources: index 'htps://h/simple' is not a URL"),
        (Family.CONDA, {"pip_packages": {"six": ""}, "pip_sources": ["https:/h/simple"]},
         r"@conda, pip_sources: index 'https:/h/simple' is not a URL"),
    ],
)
def test_decorator_attributes(family, attrs, match):
    with pytest.raises(SpecError, match=match):
        spec_from_attributes(family, attrs)


def test_every_other_way_in_is_checked_by_the_model(tmp_path):
    """Specs built in code or read back from a lock: the syntax is checked; a find-links
    path need not exist here (a lock may be read on another machine)."""
    with pytest.raises(SpecError, match=r"index_url 'pypi\.example\.com/simple' is not a URL"):
        PypiSources(index_url="pypi.example.com/simple")
    with pytest.raises(SpecError, match=r"extra_index_urls '' is not a URL"):
        EnvSpec.from_dict({"pypi_sources": {"extra_index_urls": [""]}})
    with pytest.raises(SpecError, match=r"find_links 'htps://h/w' is not a URL"):
        PypiSources(find_links=("htps://h/w",))
    assert PypiSources(find_links=(str(tmp_path / "elsewhere"),)).find_links == (str(tmp_path / "elsewhere"),)
