"""Every requirement file of tests/data/specs parses into the expected EnvSpec.

The files are the project's own examples of what people write (one situation per file);
tests/integration/test_spec_files_resolve.py resolves the same files.
"""
from pathlib import Path

import pytest

from metaflow_extensions.envs.plugins.envs.spec import parse_file, requirements_txt

SPECS = Path(__file__).resolve().parents[1] / "data" / "specs"


def summary(spec):
    """The parts of an EnvSpec a person would check, in file order."""
    src = spec.pypi_sources
    return {
        "conda": [str(d) for d in spec.conda_deps],
        "pypi": [str(d) for d in spec.pypi_deps],
        "channels": list(spec.channels),
        "python": spec.python,
        "index_url": src.index_url,
        "extra_index_urls": list(src.extra_index_urls),
        "find_links": list(src.find_links),
        "env_type": spec.env_type,
    }


def expect(conda=(), pypi=(), channels=(), python=None, extra=(), find_links=(), env_type=None):
    return {
        "conda": list(conda),
        "pypi": list(pypi),
        "channels": list(channels),
        "python": python,
        "index_url": None,
        "extra_index_urls": list(extra),
        "find_links": list(find_links),
        "env_type": env_type,
    }


GIT_COMMIT = "4f1c2a9e8b7d6c5f4e3d2c1b0a9f8e7d6c5b4a39"
PRIVATE_INDEX = "https://pypi.example.invalid/simple"

EXPECTED = {
    # environment.yml
    "yml-blank-lines.yml": expect(conda=["tinyutil", "numpy"], python="3.10.*", env_type="conda-only"),
    "yml-channel-pin-with-pip.yml": expect(
        conda=["comet_ml::comet_ml 3.32.0.*"], pypi=["six"], env_type="mixed"
    ),
    "yml-channels-section.yml": expect(
        conda=["conda-forge::tinyutil", "conda-forge::numpy <2"],
        channels=["conda-forge"],
        python="3.10.*",
        env_type="conda-only",
    ),
    "yml-equals-then-operator.yml": expect(conda=["numpy >=1.20"], env_type="conda-only"),
    "yml-non-python-packages.yml": expect(
        conda=["nativelib", "ffmpeg"], pypi=["idna"], python="3.10.*", env_type="mixed"
    ),
    "yml-not-in-channel.yml": expect(
        conda=["six", "idna >=3"], pypi=["docopt==0.6.2"], env_type="mixed"
    ),
    "yml-one-package.yml": expect(conda=["itsdangerous"], env_type="conda-only"),
    "yml-two-channels.yml": expect(
        conda=["conda-forge::scikit-learn >=1.0", "defaults::numpy >=1.20,<2"],
        env_type="conda-only",
    ),
    "yml-unknown-section.yml": expect(conda=["tinyutil", "numpy"], python="3.10.*", env_type="conda-only"),
    "yml-virtual-package.yml": expect(conda=["tinyutil >=1.0", "__glibc >=2.17"], env_type="conda-only"),
    # requirements.txt
    "req-binary-wheels.txt": expect(pypi=["numpy>=1.20", "six>=1.16"], env_type="pypi-only"),
    "req-conda-pkg-bounded.txt": expect(conda=["nativelib >=1.1"], pypi=["idna>=3.0"], env_type="mixed"),
    "req-conda-pkg.txt": expect(conda=["ffmpeg"], pypi=["six"], env_type="mixed"),
    "req-extra-index-pypi.txt": expect(
        pypi=["idna>=3.0", "certifi>=2020.1.1"], extra=["https://pypi.org/simple"], env_type="pypi-only"
    ),
    "req-extra-index-unreachable.txt": expect(
        pypi=["typing-extensions==4.12.2"],
        extra=["https://wheels.example.invalid/simple"],
        env_type="pypi-only",
    ),
    "req-find-links-unreachable.txt": expect(
        pypi=["six>=1.16"], find_links=["https://wheels.example.invalid/links.html"], env_type="pypi-only"
    ),
    "req-git-commit.txt": expect(
        pypi=["toolkit @ git+https://git.example.invalid/team/toolkit.git@" + GIT_COMMIT, "six"],
        env_type="pypi-only",
    ),
    "req-local-path.txt": expect(
        pypi=["localtool @ file:///nonexistent/metaflow-envs-tests/localtool"], env_type="pypi-only"
    ),
    "req-markers.txt": expect(
        pypi=[
            "six>=1.16",
            'numpy>=1.20; python_version >= "3.8"',
            'importlib-metadata; python_version < "3.0"',
        ],
        env_type="pypi-only",
    ),
    "req-one-package.txt": expect(pypi=["itsdangerous"], env_type="pypi-only"),
    "req-version-bounds.txt": expect(pypi=["packaging>=23", "typing-extensions<4.13"], env_type="pypi-only"),
    "req-wheels-and-sdist.txt": expect(pypi=["six", "idna>=3", "docopt==0.6.2"], env_type="pypi-only"),
    # pyproject.toml
    "pyproject-poetry-source.toml": expect(
        pypi=["six>=1.16", "idna"], python=">=3.9", extra=[PRIVATE_INDEX], env_type="pypi-only"
    ),
    "pyproject-poetry-sources.toml": expect(
        pypi=["six>=1.16", "idna"],
        python=">=3.9",
        extra=[PRIVATE_INDEX, "https://mirror.example.invalid/simple"],
        env_type="pypi-only",
    ),
    "pyproject-uv-index.toml": expect(
        pypi=["itsdangerous>=2"], python=">=3.9,<4", extra=["https://pypi.org/simple"], env_type="pypi-only"
    ),
}


def test_every_spec_file_has_an_expectation():
    present = {p.name for p in SPECS.iterdir()}
    assert present == set(EXPECTED), (
        "new files need an expectation: %s; expected but absent: %s"
        % (sorted(present - set(EXPECTED)), sorted(set(EXPECTED) - present))
    )


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_spec_file(name):
    assert summary(parse_file(str(SPECS / name))) == EXPECTED[name]


def test_line_order_does_not_change_req_id():
    path = SPECS / "req-wheels-and-sdist.txt"
    reordered = "\n".join(reversed(path.read_text().splitlines()))
    spec = parse_file(str(path))
    assert requirements_txt.parse_text(reordered, "reordered.txt").req_id == spec.req_id
    # while the same packages as Conda packages are a different request
    assert parse_file(str(SPECS / "yml-not-in-channel.yml")).req_id != spec.req_id
