"""Wheels built from sdists by `resolve`: reproducible (the same sha256 in two fresh caches,
so the same full_id on two machines) and kept by dry runs (a dry run and the real run that
follows lock the same wheel)."""
from pathlib import Path
from typing import Tuple

import pytest

from tests.fixtures.channel import host_can_run_real_python

pytestmark = pytest.mark.skipif(not host_can_run_real_python(), reason="the test channel's Python runs on linux-64")


def _resolve(cli, cache: Path, names: Tuple[str, ...], *options: str) -> Tuple[str, dict]:
    """The full_id and the locked sha256 of each of `names`, resolved with `cache` as the cache."""
    doc = cli.json("resolve", "-r", "req.txt", "--json", "-q", "--skip-metaflow-deps", *options,
                   env={"METAFLOW_CONDA_CACHE_DIR": str(cache)})[0]
    wheels = {p["name"]: p["sha256"] for p in doc["packages"] if p["name"] in names}
    assert sorted(wheels) == sorted(names) and all(p["filename"].endswith(".whl") for p in doc["packages"]
                                                   if p["name"] in names)
    return doc["env_id"], wheels


def _built(cache: Path) -> list:
    return sorted(p.name for p in cache.glob("builds/*/*.whl"))


def _check_reproducible(cli, tmp_path: Path, names: Tuple[str, ...]) -> None:
    first = _resolve(cli, tmp_path / "cache-a", names, "--dry-run", "--force")
    assert len(_built(tmp_path / "cache-a")) == len(names)  # the dry run kept its builds
    second = _resolve(cli, tmp_path / "cache-b", names, "--dry-run", "--force")  # built again, elsewhere
    assert second == first
    assert _resolve(cli, tmp_path / "cache-b", names) == first  # the real run after the dry run


def test_an_sdist_builds_to_the_same_wheel_in_fresh_caches(cli, index_url, tmp_path):
    (cli.root / "req.txt").write_text("--extra-index-url %s\nmfenvs-sdistonly==0.1.0\n" % index_url)
    _check_reproducible(cli, tmp_path, ("mfenvs-sdistonly",))


@pytest.mark.network
def test_real_sdists_from_pypi_build_to_the_same_wheels(cli, tmp_path):
    """The issue's own examples: setuptools sdists on pypi.org with no wheel."""
    (cli.root / "req.txt").write_text("docx2txt==0.8\nlangdetect==1.0.9\n")
    _check_reproducible(cli, tmp_path, ("docx2txt", "langdetect"))
