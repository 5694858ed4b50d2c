"""The index of a request that names none: METAFLOW_CONDA_DEFAULT_PYPI_SOURCE, else pip's
configuration (variables, then pip.conf), else pypi.org; filled in before hashing."""
import os
from dataclasses import replace

import pytest

from metaflow_extensions.envs.plugins.envs.errors import SpecError
from metaflow_extensions.envs.plugins.envs.resolve.resolver import with_defaults
from metaflow_extensions.envs.plugins.envs.resolve.pip_config import default_pypi_index
from metaflow_extensions.envs.plugins.envs.spec.model import CondaDep, EnvSpec, PypiDep, PypiSources


@pytest.fixture(autouse=True)
def home(monkeypatch, tmp_path):
    """A fake HOME and no pip files of this machine: every pip file is written by the test."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("XDG_CONFIG_HOME", raising=False)
    monkeypatch.setenv("XDG_CONFIG_DIRS", str(tmp_path / "etc-xdg"))
    monkeypatch.setenv("PIP_CONFIG_FILE", os.devnull)  # tests needing pip files set their own
    for var in ("PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL", "METAFLOW_CONDA_DEFAULT_PYPI_SOURCE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("METAFLOW_CONDA_CHANNELS", "conda-forge")
    monkeypatch.setenv("METAFLOW_CONDA_PYTHON_SOURCE", "conda")
    return home


def _pip_conf(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


PYPI_SPEC = EnvSpec(pypi_deps=(PypiDep.parse("six"),))


def test_pypi_org_when_nothing_is_configured():
    assert default_pypi_index() == ("https://pypi.org/simple", ())
    filled = with_defaults(PYPI_SPEC).pypi_sources
    assert (filled.index_url, filled.extra_index_urls) == ("https://pypi.org/simple", ())


def test_pip_conf_index_and_extras(monkeypatch, tmp_path):
    conf = _pip_conf(tmp_path / "pip.conf", "[global]\nindex-url = https://mirror.example/simple\n"
                     "extra-index-url = https://a.example/simple\n  https://b.example/simple\n")
    monkeypatch.setenv("PIP_CONFIG_FILE", str(conf))
    assert default_pypi_index() == ("https://mirror.example/simple",
                                    ("https://a.example/simple", "https://b.example/simple"))


def test_pip_precedence_variables_over_install_over_global_over_user(monkeypatch, home):
    user = _pip_conf(home / ".config" / "pip" / "pip.conf", "[global]\nindex-url = https://user.example/simple\n")
    monkeypatch.delenv("PIP_CONFIG_FILE")
    assert default_pypi_index()[0] == "https://user.example/simple"
    user.write_text("[global]\nindex-url = https://user.example/simple\n[install]\nindex_url = https://install.example/simple\n")
    assert default_pypi_index()[0] == "https://install.example/simple"
    monkeypatch.setenv("PIP_INDEX_URL", "https://var.example/simple")
    assert default_pypi_index()[0] == "https://var.example/simple"


def test_an_existing_pip_config_file_hides_the_user_file_and_devnull_hides_all(monkeypatch, home, tmp_path):
    _pip_conf(home / ".config" / "pip" / "pip.conf", "[global]\nindex-url = https://user.example/simple\n")
    monkeypatch.setenv("PIP_CONFIG_FILE", str(_pip_conf(tmp_path / "given.conf", "[global]\n")))
    assert default_pypi_index()[0] != "https://user.example/simple"  # as pip: the user file is not read
    _pip_conf(tmp_path / "etc-xdg" / "pip" / "pip.conf", "[global]\nindex-url = https://site.example/simple\n")
    assert default_pypi_index()[0] == "https://site.example/simple"
    monkeypatch.setenv("PIP_CONFIG_FILE", "/dev/null")
    assert default_pypi_index()[0] == "https://pypi.org/simple"


def test_the_setting_wins_over_pip_whose_extras_still_count(monkeypatch):
    monkeypatch.setenv("PIP_INDEX_URL", "https://pip.example/simple")
    monkeypatch.setenv("PIP_EXTRA_INDEX_URL", "https://extra.example/simple")
    monkeypatch.setenv("METAFLOW_CONDA_DEFAULT_PYPI_SOURCE", "https://corp.example/simple")
    assert default_pypi_index() == ("https://corp.example/simple", ("https://extra.example/simple",))


def test_the_request_own_index_wins_and_pip_is_not_consulted(monkeypatch):
    monkeypatch.setenv("PIP_INDEX_URL", "https://pip.example/simple")
    monkeypatch.setenv("PIP_EXTRA_INDEX_URL", "https://extra.example/simple")
    own = EnvSpec(pypi_deps=PYPI_SPEC.pypi_deps, pypi_sources=PypiSources(index_url="https://own.example/simple"))
    assert with_defaults(own).pypi_sources == replace(own.pypi_sources, index_strategy="unsafe-best-match")
    no_index = EnvSpec(pypi_deps=PYPI_SPEC.pypi_deps, pypi_sources=PypiSources(no_index=True, find_links=("/w",)))
    assert with_defaults(no_index).pypi_sources == replace(no_index.pypi_sources, index_strategy="unsafe-best-match")


def test_request_extras_come_first_then_the_defaults(monkeypatch):
    monkeypatch.setenv("PIP_EXTRA_INDEX_URL", "https://extra.example/simple")
    spec = EnvSpec(pypi_deps=PYPI_SPEC.pypi_deps, pypi_sources=PypiSources(extra_index_urls=("https://mine.example/simple",)))
    src = with_defaults(spec).pypi_sources
    assert src.index_url == "https://pypi.org/simple"
    assert src.extra_index_urls == ("https://mine.example/simple", "https://extra.example/simple")


def test_two_pip_configurations_never_share_a_req_id_and_credentials_stay_out(monkeypatch):
    plain = with_defaults(PYPI_SPEC)
    monkeypatch.setenv("PIP_INDEX_URL", "https://bob:pip-secret@corp.example/simple")
    private = with_defaults(PYPI_SPEC)
    assert private.req_id != plain.req_id
    assert private.to_dict()["pypi_sources"]["index_url"] == "https://corp.example/simple"
    assert "pip-secret" not in str(private.to_dict()) and "pip-secret" not in private.req_id
    assert with_defaults(private) == private  # filled once: hashing again changes nothing


def test_conda_only_requests_do_not_depend_on_pip(monkeypatch):
    spec = EnvSpec(conda_deps=(CondaDep.parse("tinyutil"),))
    before = with_defaults(spec).req_id
    monkeypatch.setenv("PIP_INDEX_URL", "https://pip.example/simple")
    assert with_defaults(spec).req_id == before and with_defaults(spec).pypi_sources == PypiSources()


@pytest.mark.parametrize("var, value, named", [
    ("METAFLOW_CONDA_DEFAULT_PYPI_SOURCE", "corp.example/simple", "METAFLOW_CONDA_DEFAULT_PYPI_SOURCE 'corp"),
    ("PIP_INDEX_URL", "htps:/x", "PIP_INDEX_URL 'htps:/x' is not a URL"),
    ("PIP_EXTRA_INDEX_URL", "https://ok.example/simple nohost", "PIP_EXTRA_INDEX_URL 'nohost' is not a URL"),
])
def test_a_bad_configured_index_names_where_it_is_set(monkeypatch, var, value, named):
    monkeypatch.setenv(var, value)
    with pytest.raises(SpecError, match=named):
        with_defaults(PYPI_SPEC)


def test_a_bad_pip_conf_value_names_the_file(monkeypatch, tmp_path):
    conf = _pip_conf(tmp_path / "pip.conf", "[global]\nindex-url = /srv/simple\n")
    monkeypatch.setenv("PIP_CONFIG_FILE", str(conf))
    with pytest.raises(SpecError, match=r"index-url in %s \[global\] '/srv/simple' is not a URL" % conf):
        default_pypi_index()


def test_extra_channels_come_before_the_configured_ones():
    spec = EnvSpec(conda_deps=(CondaDep.parse("tinyutil"),), extra_channels=("pytorch",))
    filled = with_defaults(spec)
    assert filled.channels == ("pytorch", "conda-forge") and filled.extra_channels == ()
    assert with_defaults(filled) == filled
    own = EnvSpec(channels=("bioconda",), extra_channels=("pytorch",))
    assert with_defaults(own).channels == ("pytorch", "bioconda")
