"""Every requirement file from a peer project's test suite parses into the expected EnvSpec.

The files live in /work/shared/peer-specs (next to this repository);
METAFLOW_ENVS_PEER_SPECS points elsewhere. A missing directory is a failure, not a skip:
these cases must not silently stop running.
"""
import os
from pathlib import Path

import pytest

from metaflow_extensions.envs.plugins.envs.spec import parse_file, requirements_txt

PEER_SPECS = Path(
    os.environ.get("METAFLOW_ENVS_PEER_SPECS")
    or Path(__file__).resolve().parents[3] / "shared" / "peer-specs"
)
NOT_SPECS = {"README.md"}


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


ONLY_SRC = [
    "matplotlib", "plotly", "statsmodels", "pmdarima", "pydotplus", "ipython", "cerberus", "gql",
    "aiohttp", "reportlab",
]

EXPECTED = {
    "channel-conda.yml": expect(
        conda=["comet_ml::comet_ml 3.32.0.*"], pypi=["itsdangerous"], env_type="mixed"
    ),
    "conda-multiple-channels.yml": expect(
        conda=["conda-forge::scikit-learn >=1.0.0", "defaults::pandas >=1.0.0"],
        env_type="conda-only",
    ),
    "conda-with-channel-spec.yml": expect(
        conda=["conda-forge::numpy", "conda-forge::pandas"],
        channels=["conda-forge"],
        python="3.10.*",
        env_type="conda-only",
    ),
    "conda-with-npconda.yml": expect(
        conda=["pandas", "ffmpeg"], pypi=["requests"], python="3.10.*", env_type="mixed"
    ),
    "conda-with-sys-deps.yml": expect(
        conda=["pandas >=1.0.0", "__glibc >=2.17"], env_type="conda-only"
    ),
    "corner-cases.txt": expect(
        pypi=[
            "clip @ git+https://github.com/openai/CLIP.git@d50d76daa670286dd6cacf3bcd80b5e4823fc8e1",
            "outlier-detector==0.0.3",
            "foo @ file:///tmp/build_foo_pkg",
        ],
        env_type="pypi-only",
    ),
    "ffmpeg-pkg.txt": expect(conda=["ffmpeg"], pypi=["ffmpeg-python"], env_type="mixed"),
    "itsdangerous.txt": expect(pypi=["itsdangerous"], env_type="pypi-only"),
    "itsdangerous.yml": expect(conda=["itsdangerous"], env_type="conda-only"),
    "only-src.txt": expect(pypi=ONLY_SRC + ["graphing", "outlier-detector==0.0.3"], env_type="pypi-only"),
    "only-src.yml": expect(
        conda=ONLY_SRC, pypi=["graphing", "outlier-detector==0.0.3"], env_type="mixed"
    ),
    "pip-no-hash.txt": expect(
        pypi=["typing-extensions==4.15.0"],
        extra=["https://download.pytorch.org/whl/cu121"],
        env_type="pypi-only",
    ),
    "pip-version.txt": expect(
        pypi=["jsonschema", "jsonschema-specifications<2024.10.1"], env_type="pypi-only"
    ),
    "pypi-custom-index.txt": expect(
        pypi=["pandas>=1.0.0", "requests>=2.20.0"],
        extra=["https://pypi.org/simple"],
        env_type="pypi-only",
    ),
    "pypi-simple-no-extras.txt": expect(
        pypi=["pandas>=1.0", "numpy>=1.20", "requests"], env_type="pypi-only"
    ),
    "pypi-with-find-links.txt": expect(
        pypi=["pandas>=1.0.0"],
        find_links=["https://download.pytorch.org/whl/torch_stable.html"],
        env_type="pypi-only",
    ),
    "pypi-with-markers.txt": expect(
        pypi=[
            "pandas>=1.0",
            'numpy>=1.20; python_version >= "3.8"',
            'importlib-metadata; python_version < "3.8"',
        ],
        env_type="pypi-only",
    ),
    "req-conda-pkg-no-version.txt": expect(conda=["ffmpeg"], pypi=["pandas>=1.0"], env_type="mixed"),
    "simple-conda.yml": expect(conda=["pandas >=1.0.0"], env_type="conda-only"),
    "simple.toml": expect(
        pypi=["pandas>=1.0.0", "numpy"],
        python=">=3.9",
        extra=["https://pypi.custom.com/simple"],
        env_type="pypi-only",
    ),
    "toml-with-multiple-sources.toml": expect(
        pypi=["pandas>=1.0.0", "numpy"],
        python=">=3.9",
        extra=["https://pypi.custom.com/simple", "https://another.custom.com/simple"],
        env_type="pypi-only",
    ),
    "yml-with-empty-lines.yml": expect(conda=["pandas", "numpy"], python="3.10.*", env_type="conda-only"),
    "yml-with-unknown-section.yml": expect(
        conda=["pandas", "numpy"], python="3.10.*", env_type="conda-only"
    ),
}


def _require_dir():
    if not PEER_SPECS.is_dir():
        pytest.fail(
            "peer specs directory %s is missing: restore /work/shared/peer-specs or set "
            "METAFLOW_ENVS_PEER_SPECS to its location" % PEER_SPECS
        )


def test_every_peer_spec_has_an_expectation():
    _require_dir()
    present = {p.name for p in PEER_SPECS.iterdir() if p.is_file()} - NOT_SPECS
    assert present == set(EXPECTED), (
        "new files need an expectation: %s; expected but absent: %s"
        % (sorted(present - set(EXPECTED)), sorted(set(EXPECTED) - present))
    )


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_peer_spec(name):
    _require_dir()
    path = PEER_SPECS / name
    assert path.is_file(), "%s is missing from %s" % (name, PEER_SPECS)
    assert summary(parse_file(str(path))) == EXPECTED[name]


def test_peer_spec_line_order_does_not_change_req_id():
    _require_dir()
    path = PEER_SPECS / "only-src.txt"
    reordered = "\n".join(reversed(path.read_text().splitlines()))
    spec = parse_file(str(path))
    assert requirements_txt.parse_text(reordered, "reordered.txt").req_id == spec.req_id
    # while the same packages as Conda packages are a different request
    assert parse_file(str(PEER_SPECS / "only-src.yml")).req_id != spec.req_id
