"""Credentials: where they come from, and that they never leak into text we keep."""
import pytest

from metaflow_extensions.envs.plugins.envs.auth import Credentials, strip_credentials
from metaflow_extensions.envs.plugins.envs.errors import SpecError


@pytest.fixture(autouse=True)
def _isolated(monkeypatch, tmp_path):
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("METAFLOW_CONDA_SRCS_AUTH_INFO", raising=False)
    monkeypatch.delenv("NETRC", raising=False)
    monkeypatch.setenv("PIP_CONFIG_FILE", str(tmp_path / "none.conf"))
    for var in ("PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL"):
        monkeypatch.delenv(var, raising=False)


def test_strip_credentials_in_any_text():
    text = 'see https://bob:s3cret@host:8080/simple and "http://tok@x.org/c"'
    assert strip_credentials(text) == 'see https://host:8080/simple and "http://x.org/c"'


def test_auth_info_json_by_host_and_port(monkeypatch):
    monkeypatch.setenv("METAFLOW_CONDA_SRCS_AUTH_INFO", '{"127.0.0.1:9000": ["u1", "p1"], "example.org": ["u2", "p2"]}')
    creds = Credentials.from_environment()
    assert creds.for_url("http://127.0.0.1:9000/simple/") == ("u1", "p1")
    assert creds.for_url("http://127.0.0.1:9001/simple/") is None
    assert creds.for_url("https://example.org:443/x") == ("u2", "p2")
    assert creds.headers_for("http://127.0.0.1:9000/a")["Authorization"] == "Basic dTE6cDE="


def test_bad_auth_info_is_a_clear_error(monkeypatch):
    monkeypatch.setenv("METAFLOW_CONDA_SRCS_AUTH_INFO", "{not json")
    with pytest.raises(SpecError, match="METAFLOW_CONDA_SRCS_AUTH_INFO is not valid"):
        Credentials.from_environment()


def test_userinfo_in_request_urls_and_pip_config(monkeypatch, tmp_path):
    conf = tmp_path / "pip.conf"
    conf.write_text("[global]\nextra-index-url = https://piu:pip-pw@pip.example/simple\n")
    monkeypatch.setenv("PIP_CONFIG_FILE", str(conf))
    creds = Credentials.from_environment(["https://cu:chan-pw@chan.example/main"])
    assert creds.for_url("https://chan.example/main/noarch/repodata.json") == ("cu", "chan-pw")
    assert creds.for_url("https://pip.example/files/x.whl") == ("piu", "pip-pw")
    assert creds.redact("failed https://pip.example/ with pip-pw and chan-pw") == "failed https://pip.example/ with **** and ****"


def test_netrc(monkeypatch, tmp_path):
    rc = tmp_path / "netrc"
    rc.write_text("machine files.example login nu password net-pw\n")
    rc.chmod(0o600)
    monkeypatch.setenv("NETRC", str(rc))
    creds = Credentials.from_environment()
    assert creds.for_url("https://files.example/a.whl") == ("nu", "net-pw")
    assert creds.with_userinfo("https://files.example/simple") == "https://nu:net-pw@files.example/simple"


def test_strip_credentials_when_the_password_holds_at_signs_and_colons():
    # Raw and percent-encoded: the whole userinfo goes, up to the last '@' before the host.
    for userinfo in ("bob:p@ss:w%rd", "bob:p%40ss%3Aw%25rd", "bob:@@"):
        text = "fetching http://%s@127.0.0.1:8080/simple/x/ failed" % userinfo
        assert strip_credentials(text) == "fetching http://127.0.0.1:8080/simple/x/ failed"
    # An '@' after the path (or in another word) is not userinfo.
    assert strip_credentials("https://host/a@b and x@y") == "https://host/a@b and x@y"


def test_special_password_is_understood_and_redacted_in_every_form(monkeypatch, tmp_path):
    raw, encoded = "p@ss:w%rd", "p%40ss%3Aw%25rd"
    for written in (raw, encoded):
        creds = Credentials.from_environment(["http://bob:%s@127.0.0.1:8080/simple" % written])
        assert creds.for_url("http://127.0.0.1:8080/simple/x/") == ("bob", raw)
        assert creds.headers_for("http://127.0.0.1:8080/a")["Authorization"] == "Basic Ym9iOnBAc3M6dyVyZA=="
        said = creds.redact("uv said: bad password %s (or %s, %s) for http://bob:%s@127.0.0.1:8080/" % (
            raw, encoded, encoded.lower(), written))
        assert said == "uv said: bad password **** (or ****, ****) for http://127.0.0.1:8080/"


def test_netrc_passwords_are_redacted(monkeypatch, tmp_path):
    rc = tmp_path / "netrc"
    rc.write_text("machine files.example login nu password net-pw\n")
    rc.chmod(0o600)
    monkeypatch.setenv("NETRC", str(rc))
    assert Credentials.from_environment().redact("denied: net-pw") == "denied: ****"


def test_git_gets_credentials_in_its_environment_scoped_to_their_origin(monkeypatch):
    from metaflow_extensions.envs.plugins.envs.auth import git_auth_env

    monkeypatch.setenv("GIT_CONFIG_COUNT", "1")  # the caller's own entry 0 stays
    creds = Credentials.from_environment(["https://bob:p%40ss@git.example:8443/org/repo.git"])
    env = git_auth_env(["https://bob:p%40ss@git.example:8443/org/repo.git", "ssh://git@other/x.git"], creds)
    assert env == {"GIT_CONFIG_COUNT": "2", "GIT_CONFIG_KEY_1": "http.https://git.example:8443/.extraHeader",
                   "GIT_CONFIG_VALUE_1": "Authorization: Basic Ym9iOnBAc3M="}
    assert git_auth_env(["https://nobody.example/r.git"], creds) == {}
