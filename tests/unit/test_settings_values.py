"""Every setting of the table is checked when it is read: garbage ends in one message naming the
setting, the value and what is allowed, or is a value its documentation allows (a name). The
same path through the real command line: tests/cli/test_settings_cli.py."""
import pytest

from metaflow_extensions.envs.plugins.envs import settings
from metaflow_extensions.envs.plugins.envs.errors import SpecError
from metaflow_extensions.envs.plugins.envs.settings_table import SETTINGS

GARBAGE = ("-1", "abc", "nan", "inf", "{", "[1]", "1e400", "99999999999999999999", "0x10", '{"a": 1}', "a b",
           "../x", "-5")
# Garbage that is a well-formed name for the settings whose values are names (docs/settings.md:
# "channel names", "package names", "a folder name"...): allowed, parsed as such.
NAMES = ("abc", "nan", "inf", "1e400", "99999999999999999999", "0x10")
NAMED = {"CONDA_CHANNELS": tuple, "CONDA_UPGRADE": tuple, "CONDA_UV_EXTRAS": tuple, "CONDA_UV_GROUPS": tuple,
         "CONDA_AZUREROOT": str, "CONDA_PACKAGES_DIRNAME": str, "CONDA_ENVS_DIRNAME": str,
         "CONDA_USE_REMOTE_LATEST": str}
ACCEPTED = {(name, value) for name in NAMED for value in NAMES} | {
    ("CONDA_USE_REMOTE_LATEST", "-1"), ("CONDA_USE_REMOTE_LATEST", "-5"),  # user names
} | {(name, value) for name in ("CONDA_REMOTE_COMMANDS", "CONDA_IGNORE_CACHING_DATASTORES")  # Python names
     for value in ("abc", "nan", "inf")}
NAMED.update({"CONDA_REMOTE_COMMANDS": tuple, "CONDA_IGNORE_CACHING_DATASTORES": tuple})


@pytest.mark.parametrize("value", GARBAGE)
@pytest.mark.parametrize("setting", SETTINGS, ids=lambda s: s.name)
def test_garbage_is_refused_in_one_message_or_is_a_documented_name(monkeypatch, setting, value):
    monkeypatch.setenv(setting.variable, value)
    if (setting.name, value) in ACCEPTED:
        parsed = settings.value(setting.name)
        assert parsed == (value,) if NAMED[setting.name] is tuple else parsed == value
        return
    with pytest.raises(SpecError) as err:
        settings.value(setting.name)
    message = str(err.value)
    assert "\n" not in message and message.startswith(setting.variable)
    assert setting.parser.allowed in message
    if setting.secret:
        assert "not '" not in message and "value is not shown" in message
    else:
        assert "not '%s'" % value in message


@pytest.mark.parametrize("name, value, expected", [
    ("CONDA_VERIFY", " Yes ", True), ("CONDA_VERIFY", "off", False), ("CONDA_VERIFY", "", False),
    ("CONDA_LOCK_TIMEOUT", "0", 0.0), ("CONDA_LOCK_TIMEOUT", "", 3600.0),
    ("CONDA_STORE_RETRIES", "7", 7), ("CONDA_OSX_VERSION", "12", "12.0"),
    ("CONDA_PREFERRED_FORMAT", "tar.bz2", ".tar.bz2"), ("CONDA_PREFERRED_FORMAT", "none", None),
    ("CONDA_CHANNEL_ALIAS", "http://mirror.example", "http://mirror.example/"),
    ("CONDA_SRCS_AUTH_INFO", "{'h': ['u', 'p']}", {"h": ["u", "p"]}),  # as Metaflow forwards a profile's object
])
def test_allowed_spellings(monkeypatch, name, value, expected):
    monkeypatch.setenv("METAFLOW_" + name, value)
    assert settings.value(name) == expected


@pytest.mark.parametrize("name, value", [
    ("CONDA_LOCK_TIMEOUT", "-1"),  # filelock waits forever on a negative timeout
    ("CONDA_RESOLVE_TIMEOUT", "-5"),  # rattler: "can't convert negative int to unsigned"
    ("CONDA_RESOLVE_TIMEOUT", "0"),
    ("CONDA_OSX_VERSION", "-1"),  # packaging: InvalidVersion
    ("CONDA_OSX_VERSION", "100000.0"),  # wheel tags for every macOS down from it
    ("CONDA_GLIBC_VERSION", "2.999999"),  # manylinux tags for every glibc down from it
    ("CONDA_STORE_RETRIES", "0"), ("CONDA_STORE_RETRIES", "2.5"),
    ("CONDA_CACHE_DIR", "relative/cache"),
    ("CONDA_SRCS_AUTH_INFO", '{"host": ["only-user"]}'),
    ("CONDA_DEFAULT_PYPI_SOURCE", "https://user:hunter2@/simple"),
])
def test_values_out_of_range_are_refused(monkeypatch, name, value):
    monkeypatch.setenv("METAFLOW_" + name, value)
    with pytest.raises(SpecError, match="METAFLOW_%s" % name) as err:
        settings.value(name)
    assert "hunter2" not in str(err.value) and "only-user" not in str(err.value)


@pytest.mark.parametrize("name, configured, expected", [
    ("CONDA_LOCK_TIMEOUT", 90, 90.0), ("CONDA_VERIFY", True, True), ("CONDA_STORE_RETRIES", 4, 4),
    ("CONDA_LOCK_TIMEOUT", 10 ** 400, SpecError),  # no float: refused, not an OverflowError
    ("CONDA_CHANNELS", ["conda-forge"], SpecError), ("CONDA_VERIFY", "maybe", SpecError),
])
def test_a_profile_holds_json_values(monkeypatch, tmp_path, name, configured, expected):
    """A profile is JSON: its values may be numbers, booleans or lists, not only text."""
    import json

    (tmp_path / "config.json").write_text(json.dumps({"METAFLOW_" + name: configured}))
    monkeypatch.setenv("METAFLOW_HOME", str(tmp_path))
    monkeypatch.delenv("METAFLOW_PROFILE", raising=False)
    monkeypatch.delenv("METAFLOW_" + name, raising=False)
    if expected is SpecError:
        with pytest.raises(SpecError, match="METAFLOW_%s must be" % name):
            settings.value(name)
    else:
        assert settings.value(name) == expected
