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
    ("METAFLOW_CONDA_DEFAULT_PYPI_SOURCE", "corp.example/simple", "METAFLOW_CONDA_DEFAULT_PYPI_SOURCE must be a full .*URL.*, not 'corp"),
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


# ---- the index strategy: pip's rule for pip's indexes, uv's for uv's, the setting over both

def test_pip_world_indexes_are_searched_as_pip_does_and_the_strategy_is_part_of_the_request(monkeypatch):
    monkeypatch.setenv("PIP_EXTRA_INDEX_URL", "https://extra.example/simple")
    filled = with_defaults(PYPI_SPEC)
    assert filled.pypi_sources.index_strategy == "unsafe-best-match"
    monkeypatch.setenv("METAFLOW_CONDA_PYPI_INDEX_STRATEGY", "first-index")
    other = with_defaults(PYPI_SPEC)
    assert other.pypi_sources.index_strategy == "first-index" and other.req_id != filled.req_id
    assert EnvSpec.from_dict(other.to_dict()).req_id == other.req_id


def test_a_bad_strategy_setting_is_refused_naming_it(monkeypatch):
    monkeypatch.setenv("METAFLOW_CONDA_PYPI_INDEX_STRATEGY", "best")
    with pytest.raises(SpecError, match="METAFLOW_CONDA_PYPI_INDEX_STRATEGY must be first-index, unsafe-first-match or unsafe-best-match"):
        with_defaults(PYPI_SPEC)


def test_uv_declared_indexes_keep_first_index_and_pip_config_does_not_apply(monkeypatch, tmp_path):
    from metaflow_extensions.envs.plugins.envs.spec import pyproject

    conf = _pip_conf(tmp_path / "pip.conf", "[global]\nextra-index-url = https://bob:s3kret@extra.example/simple\n"
                     "index-url = https://mirror.example/simple\n")
    monkeypatch.setenv("PIP_CONFIG_FILE", str(conf))
    spec = pyproject.parse_text('[project]\nname = "p"\nversion = "1"\ndependencies = ["six"]\n\n'
                                '[[tool.uv.index]]\nname = "torch"\nurl = "https://torch.example/simple"\n',
                                "pyproject.toml")
    filled = with_defaults(spec)
    src = filled.pypi_sources
    assert src.index_strategy == "first-index" and src.uv_declared
    assert (src.index_url, src.extra_index_urls) == ("https://pypi.org/simple", ("https://torch.example/simple",))
    assert any("pip's configuration does not apply" in w and str(conf) in w and "extra.example" in w
               for w in filled.warnings)
    assert "s3kret" not in str(filled.warnings)
    assert with_defaults(filled) == filled
    own = pyproject.parse_text('[project]\nname = "p"\nversion = "1"\ndependencies = ["six"]\n[tool.uv]\n'
                               'index-strategy = "unsafe-best-match"\nextra-index-url = ["https://torch.example/simple"]\n',
                               "pyproject.toml")
    assert with_defaults(own).pypi_sources.index_strategy == "unsafe-best-match"  # the file's own choice


def test_origins_name_where_each_index_was_declared(monkeypatch, tmp_path):
    from metaflow_extensions.envs.plugins.envs.spec import requirements_txt

    conf = _pip_conf(tmp_path / "pip.conf", "[global]\nextra-index-url = https://extra.example/simple\n")
    monkeypatch.setenv("PIP_CONFIG_FILE", str(conf))
    spec = requirements_txt.parse_text("six\n--extra-index-url https://mine.example/simple\n", "req.txt")
    src = with_defaults(spec).pypi_sources
    assert src.origin("https://mine.example/simple") == "--extra-index-url in req.txt, line 2"
    assert src.origin("https://extra.example/simple") == "extra-index-url in %s [global]" % conf
    assert src.origin("https://pypi.org/simple") == "the default index"


def test_decorators_and_environment_yml_name_their_indexes(tmp_path):
    from metaflow_extensions.envs.plugins.envs.integration.decorator_rules import spec_from_attributes
    from metaflow_extensions.envs.plugins.envs.spec import environment_yml

    spec = spec_from_attributes("pypi", {"packages": {"six": ""}, "extra_indices": ["https://deco.example/simple"]})
    assert spec.pypi_sources.origin("https://deco.example/simple") == "extra_indices/sources of @pypi"
    yml = environment_yml.parse_text("dependencies:\n  - pip:\n    - six\npypi-indices: [https://yml.example/simple]\n",
                                     "env.yml")
    assert yml.pypi_sources.origin("https://yml.example/simple") == "pypi-indices in env.yml"


# ---- pip's other settings: applied (and part of the request), or named in a warning

def test_pip_constraint_find_links_pre_and_trusted_host_are_applied(monkeypatch, tmp_path):
    constraints = tmp_path / "constraints.txt"
    constraints.write_text("six<1.17\n")
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    conf = _pip_conf(tmp_path / "pip.conf", "[global]\nconstraint = %s\nfind-links = %s %s\n"
                     "trusted-host = corp.example\n[install]\npre = true\n"
                     % (constraints, wheels, tmp_path / "missing"))
    monkeypatch.setenv("PIP_CONFIG_FILE", str(conf))
    filled = with_defaults(PYPI_SPEC)
    src = filled.pypi_sources
    assert filled.pypi_constraints == ("six<1.17",)
    assert src.find_links == (str(wheels),)  # a missing directory is skipped, as pip skips it
    assert src.trusted_hosts == ("corp.example",) and src.pre
    assert with_defaults(filled) == filled
    monkeypatch.setenv("PIP_CONFIG_FILE", os.devnull)
    assert with_defaults(PYPI_SPEC).req_id != filled.req_id


def test_pip_binary_choices_combine_as_pip_does(monkeypatch, tmp_path):
    conf = _pip_conf(tmp_path / "pip.conf", "[global]\nno-binary = Six,numpy\nonly-binary = numpy\n")
    monkeypatch.setenv("PIP_CONFIG_FILE", str(conf))
    src = with_defaults(PYPI_SPEC).pypi_sources
    assert (src.no_binary, src.only_binary) == (("six",), ("numpy",))
    monkeypatch.setenv("PIP_ONLY_BINARY", ":all:")
    src = with_defaults(PYPI_SPEC).pypi_sources
    assert (src.no_binary, src.only_binary) == ((), (":all:",))


def test_pip_settings_not_applied_are_named_in_a_warning(monkeypatch, tmp_path):
    conf = _pip_conf(tmp_path / "pip.conf", "[global]\nprefer-binary = yes\nno-deps = false\ntimeout = 60\n")
    monkeypatch.setenv("PIP_CONFIG_FILE", str(conf))
    monkeypatch.setenv("PIP_CONSTRAINT", "https://corp.example/constraints.txt")
    warnings = with_defaults(PYPI_SPEC).warnings
    assert any("prefer-binary = yes (prefer-binary in %s [global])" % conf in w for w in warnings)
    assert not any("no-deps" in w or "timeout" in w for w in warnings)  # false, or harmless
    assert any("https://corp.example/constraints.txt (PIP_CONSTRAINT) is a URL" in w for w in warnings)


def test_bad_pip_values_are_refused_naming_where(monkeypatch, tmp_path):
    conf = _pip_conf(tmp_path / "pip.conf", "[global]\npre = maybe\n")
    monkeypatch.setenv("PIP_CONFIG_FILE", str(conf))
    with pytest.raises(SpecError, match=r"pre to 'maybe' \(pre in %s \[global\]\)" % conf):
        with_defaults(PYPI_SPEC)
    conf.write_text("[global]\nconstraint = %s\n" % (tmp_path / "nope.txt"))
    with pytest.raises(SpecError, match=r"constraint in %s \[global\].*nope.txt' does not exist" % conf):
        with_defaults(PYPI_SPEC)
