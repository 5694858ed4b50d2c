"""The peer project's real requirement files: those needing only PyPI or the local channel
resolve; those naming hosts unreachable here fail with one clear error."""
import os
from pathlib import Path

import pytest

from metaflow_extensions.envs.plugins.envs.errors import EnvError
from metaflow_extensions.envs.plugins.envs.resolve.resolver import resolve_environment
from metaflow_extensions.envs.plugins.envs.spec import parse_file

PEER_SPECS = Path(os.environ.get("METAFLOW_ENVS_PEER_SPECS")
                  or Path(__file__).resolve().parents[3] / "shared" / "peer-specs")

# file -> packages the lock must hold (name: kind)
RESOLVE = {
    "channel-conda.yml": {"comet_ml": "conda", "itsdangerous": "pypi"},
    "conda-multiple-channels.yml": {"scikit-learn": "conda", "pandas": "conda"},
    "conda-with-channel-spec.yml": {"numpy": "conda", "pandas": "conda", "python": "conda"},
    "conda-with-npconda.yml": {"pandas": "conda", "ffmpeg": "conda", "requests": "pypi"},
    "conda-with-sys-deps.yml": {"pandas": "conda"},
    "ffmpeg-pkg.txt": {"ffmpeg": "conda", "ffmpeg-python": "pypi"},
    "itsdangerous.txt": {"itsdangerous": "pypi"},
    "itsdangerous.yml": {"itsdangerous": "conda"},
    "only-src.txt": {"outlier-detector": "pypi", "statsmodels": "pypi", "pmdarima": "pypi"},
    "pip-version.txt": {"jsonschema": "pypi", "jsonschema-specifications": "pypi"},
    "pypi-custom-index.txt": {"pandas": "pypi", "requests": "pypi"},
    "pypi-simple-no-extras.txt": {"pandas": "pypi", "numpy": "pypi"},
    "pypi-with-markers.txt": {"pandas": "pypi", "numpy": "pypi"},
    "req-conda-pkg-no-version.txt": {"ffmpeg": "conda", "pandas": "pypi"},
    "simple-conda.yml": {"pandas": "conda"},
    "yml-with-empty-lines.yml": {"pandas": "conda", "numpy": "conda"},
    "yml-with-unknown-section.yml": {"pandas": "conda", "numpy": "conda"},
}
# file -> what the one-message error must name
FAIL = {
    "corner-cases.txt": "github.com",
    "only-src.yml": "matplotlib",
    "pip-no-hash.txt": "download.pytorch.org",
    "pypi-with-find-links.txt": "download.pytorch.org",
    "simple.toml": "pypi.custom.com",
    "toml-with-multiple-sources.toml": "custom.com",
}


def test_every_peer_spec_is_covered():
    assert PEER_SPECS.is_dir(), "peer specs not found at %s (set METAFLOW_ENVS_PEER_SPECS)" % PEER_SPECS
    files = {p.name for p in PEER_SPECS.iterdir() if p.name != "README.md"}
    assert files == set(RESOLVE) | set(FAIL)


@pytest.mark.parametrize("name", sorted(RESOLVE))
def test_peer_spec_resolves(engine_settings, name):
    env = resolve_environment(parse_file(str(PEER_SPECS / name)))
    kinds = {p.name: p.kind for p in env.packages}
    for pkg, kind in RESOLVE[name].items():
        assert kinds.get(pkg) == kind, "%s: expected %s from %s, lock has %s" % (name, pkg, kind, kinds.get(pkg))
    assert all(len(p.sha256) == 64 for p in env.packages)
    if "python=3.10" in (PEER_SPECS / name).read_text():
        assert env.python_version.startswith("3.10.")


@pytest.mark.parametrize("name", sorted(FAIL))
def test_peer_spec_fails_clearly(engine_settings, name):
    with pytest.raises(EnvError) as err:
        resolve_environment(parse_file(str(PEER_SPECS / name)))
    assert FAIL[name] in str(err.value)
    assert "Traceback" not in str(err.value)
