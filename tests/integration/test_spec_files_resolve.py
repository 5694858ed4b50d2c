"""The requirement files of tests/data/specs resolved for real: those needing only PyPI or
the local test channel resolve; those naming hosts that never resolve (`*.example.invalid`),
a missing local path or packages the channel lacks fail with one clear error."""
from pathlib import Path

import pytest

from metaflow_extensions.envs.plugins.envs.errors import EnvError
from metaflow_extensions.envs.plugins.envs.environments import build_prefix_python
from metaflow_extensions.envs.plugins.envs.resolve.resolver import resolve_environment
from metaflow_extensions.envs.plugins.envs.spec import parse_file

pytestmark = pytest.mark.network  # the PyPI packages come from pypi.org

SPECS = Path(__file__).resolve().parents[1] / "data" / "specs"

# file -> packages the lock must hold (name: kind; None: must not be there)
RESOLVE = {
    "pyproject-uv-index.toml": {"itsdangerous": "pypi"},
    "req-binary-wheels.txt": {"numpy": "pypi", "six": "pypi"},
    "req-conda-pkg-bounded.txt": {"nativelib": "conda", "idna": "pypi"},
    "req-conda-pkg.txt": {"ffmpeg": "conda", "six": "pypi"},
    "req-extra-index-pypi.txt": {"idna": "pypi", "certifi": "pypi"},
    "req-markers.txt": {"six": "pypi", "numpy": "pypi", "importlib-metadata": None},
    "req-one-package.txt": {"itsdangerous": "pypi"},
    "req-version-bounds.txt": {"packaging": "pypi", "typing-extensions": "pypi"},
    "req-wheels-and-sdist.txt": {"six": "pypi", "idna": "pypi", "docopt": "pypi"},
    "yml-blank-lines.yml": {"tinyutil": "conda", "numpy": "conda"},
    "yml-channel-pin-with-pip.yml": {"comet_ml": "conda", "six": "pypi"},
    "yml-channels-section.yml": {"tinyutil": "conda", "numpy": "conda", "python": "conda"},
    "yml-equals-then-operator.yml": {"numpy": "conda"},
    "yml-non-python-packages.yml": {"nativelib": "conda", "ffmpeg": "conda", "idna": "pypi"},
    "yml-one-package.yml": {"itsdangerous": "conda"},
    "yml-two-channels.yml": {"scikit-learn": "conda", "numpy": "conda"},
    "yml-unknown-section.yml": {"tinyutil": "conda", "numpy": "conda"},
    "yml-virtual-package.yml": {"tinyutil": "conda"},
}
# file -> Conda packages that name their channel, and that channel (only conda-forge is configured)
CHANNEL_OF = {
    "yml-channel-pin-with-pip.yml": {"comet_ml": "comet_ml"},
    "yml-two-channels.yml": {"scikit-learn": "conda-forge", "numpy": "defaults"},
}
# file -> what the one-message error must name
FAIL = {
    "pyproject-poetry-source.toml": "pypi.example.invalid",
    "pyproject-poetry-sources.toml": "example.invalid",
    "req-extra-index-unreachable.txt": "wheels.example.invalid",
    "req-find-links-unreachable.txt": "wheels.example.invalid",
    "req-git-commit.txt": "git.example.invalid",
    "req-local-path.txt": "/nonexistent/metaflow-envs-tests/localtool",
    "yml-not-in-channel.yml": "six",
}


def test_every_spec_file_is_covered():
    assert {p.name for p in SPECS.iterdir()} == set(RESOLVE) | set(FAIL)


@pytest.mark.parametrize("name", sorted(RESOLVE))
def test_spec_file_resolves(engine_settings, name):
    env = resolve_environment(parse_file(str(SPECS / name)), build_python=build_prefix_python)
    locked = {p.name: p for p in env.packages}
    for pkg, kind in RESOLVE[name].items():
        got = locked[pkg].kind if pkg in locked else None
        assert got == kind, "%s: expected %s as %s, lock has %s" % (name, pkg, kind, got)
    for pkg, channel in CHANNEL_OF.get(name, {}).items():
        assert "/%s/" % channel in locked[pkg].url, "%s: %s is not from %s" % (name, pkg, channel)
    assert all(len(p.sha256) == 64 for p in env.packages)
    if "python=3.10" in (SPECS / name).read_text():
        assert env.python_version.startswith("3.10.")


@pytest.mark.parametrize("name", sorted(FAIL))
def test_spec_file_fails_clearly(engine_settings, name):
    with pytest.raises(EnvError) as err:
        resolve_environment(parse_file(str(SPECS / name)))
    assert FAIL[name] in str(err.value)
    assert "Traceback" not in str(err.value)
