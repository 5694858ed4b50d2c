"""Settings through the real command line: a bad value ends in one line naming the setting (no
traceback, non-zero exit), and a Metaflow profile is read for every setting, credentials too.
Every setting's parser is walked with garbage in tests/unit/test_settings_values.py."""
import json

import pytest

from tests.fixtures.servers import StaticFileServer


@pytest.mark.parametrize("setting, value, arch", [
    ("METAFLOW_CONDA_RESOLVE_TIMEOUT", "-5", None),  # was: can't convert negative int to unsigned
    ("METAFLOW_CONDA_OSX_VERSION", "-1", "osx-arm64"),  # was: unexpected InvalidVersionError
    ("METAFLOW_CONDA_LOCK_TIMEOUT", "-1", None),  # was: accepted, and a wait for a held lock never ended
    ("METAFLOW_CONDA_PYPI_INDEX_MAX_AGE", "inf", None),
    ("METAFLOW_CONDA_CACHE_DIR", "relative/cache", None),
    ("METAFLOW_CONDA_SRCS_AUTH_INFO", "{", None),
    ("METAFLOW_DEBUG_CONDA", "abc", None),
])
def test_a_bad_setting_is_one_line_naming_it(cli, setting, value, arch):
    (cli.root / "reqs.txt").write_text("six==1.16.0\n")  # PyPI on a Conda Python: every stage reads settings
    line = cli.fails("resolve", "-r", "reqs.txt", "--dry-run", *(["--arch", arch] if arch else []),
                     env={setting: value})
    assert line.startswith("metaflow-envs error: %s " % setting), line
    if setting == "METAFLOW_CONDA_SRCS_AUTH_INFO":
        assert "value is not shown" in line
    else:
        assert "not '%s'" % value in line


def test_index_credentials_in_a_metaflow_profile_are_used(cli, pypi_index):
    """docs/settings.md: every setting may live in a profile; credentials were read from the
    process environment only."""
    auth = ("profile-user", "profile-pw-7c1")
    with StaticFileServer(pypi_index.root, auth=auth) as index:
        (cli.root / "home").mkdir(exist_ok=True)
        (cli.root / "home" / "config.json").write_text(json.dumps(
            {"METAFLOW_CONDA_SRCS_AUTH_INFO": {"127.0.0.1:%d" % index.port: list(auth)}}))
        (cli.root / "req.txt").write_text("--index-url http://127.0.0.1:%d/simple\nmfenvs-alpha==1.0.0\n" % index.port)
        docs = cli.json("resolve", "-r", "req.txt", "--dry-run", "--json", "-q", "--skip-metaflow-deps")
    assert any(p["name"] == "mfenvs-alpha" and p["version"] == "1.0.0" for p in docs[0]["packages"]), docs


def test_a_bad_setting_stops_a_flow_before_any_task_with_one_message(cli):
    proc = cli.flow("code_flow.py", "--environment=conda", "run", ok=None,
                    env={"METAFLOW_DEBUG_CONDA": "maybe", "METAFLOW_CONDA_LOCK_TIMEOUT": "-1"})
    assert proc.returncode != 0 and "Traceback" not in proc.stdout + proc.stderr
    assert "METAFLOW_DEBUG_CONDA must be" in proc.stderr and "not 'maybe'" in proc.stderr, proc.stderr
    assert "Workflow starting" not in proc.stdout + proc.stderr
