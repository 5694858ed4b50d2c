"""`metaflow environment gc`."""
import os
import time
from pathlib import Path

import pytest
from filelock import FileLock

from tests.fixtures.channel import host_can_run_real_python

pytestmark = pytest.mark.skipif(not host_can_run_real_python(), reason="the test python only runs on linux-64")

OLD = time.time() - 10 * 86400


def _age_prefix(prefix: Path) -> None:
    for path in [prefix, prefix / ".metaflow-envs-complete", prefix / "bin", *prefix.glob("lib/python*/site-packages")]:
        os.utime(path, (OLD, OLD))


def _age_packages(cache: Path, names) -> None:
    for path in (cache / "pkgs").rglob("*"):
        if path.is_file() and path.name.startswith(tuple(names)):
            os.utime(path, (OLD, OLD))


def _packages(cache: Path):
    return sorted(p.name for p in (cache / "pkgs").rglob("*") if p.is_file())


def test_gc_removes_what_no_one_used_recently(seeded):
    kept = Path(seeded.run("create", "team/tiny:v1", "-q").stdout.strip()).parent.parent
    old = Path(seeded.run("create", "team/tiny:v2", "--name", "old", "-q").stdout.strip()).parent.parent
    _age_prefix(old)
    _age_packages(seeded.cache, ("tinyutil-", "six-", "python-"))
    before = _packages(seeded.cache)
    assert any(n.startswith("six-") for n in before) and any(n.startswith("tinyutil-2.0.0") for n in before)

    dry = seeded.run("gc", "--older-than", "1", "--dry-run").stdout
    assert "Would remove environment %s" % old in dry
    assert "Would remove cached package six-1.16.0" in dry and "tinyutil-2.0.0" in dry
    assert str(kept) not in dry
    assert old.is_dir() and _packages(seeded.cache) == before  # a dry run removes nothing

    out = seeded.run("gc", "--older-than", "1").stdout
    assert "Removed environment %s" % old in out
    assert not old.exists() and kept.is_dir()
    after = _packages(seeded.cache)
    assert not any(n.startswith(("six-", "tinyutil-2.0.0")) for n in after)
    # Old, but listed by the environment of a kept prefix: kept.
    assert any(n.startswith("tinyutil-1.1.0") for n in after) and any(n.startswith("python-") for n in after)
    assert "Unknown" not in seeded.run("show", "team/tiny:v2").stdout  # locks and aliases stay

    # Nothing old any more: nothing to do.
    assert seeded.run("gc", "--older-than", "1").stdout.startswith("Removed 0 environments and 0 cached packages")


def test_gc_never_removes_a_prefix_being_created(seeded):
    prefix = Path(seeded.run("create", "team/tiny:v1", "-q").stdout.strip()).parent.parent
    _age_prefix(prefix)
    _age_packages(seeded.cache, ("tinyutil-", "python-"))
    with FileLock(str(prefix) + ".lock"):  # as a running create holds it
        out = seeded.run("gc", "--older-than", "1").stdout
    assert "Kept %s: in use by a running create" % prefix in out
    assert prefix.is_dir() and any(n.startswith("tinyutil-1.1.0") for n in _packages(seeded.cache))
    assert "Removed environment %s" % prefix in seeded.run("gc", "--older-than", "1").stdout


def test_gc_errors(cli):
    assert "--older-than must be a number of days >= 0" in cli.fails("gc", "--older-than", "-1")
    assert "Invalid value for '--older-than'" in cli.fails("gc", "--older-than", "abc", status=2)
    assert cli.run("gc", "--dry-run").stdout.startswith("Would remove 0 environments")
