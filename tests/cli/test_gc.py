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


def _old_file(path: Path, when: float = OLD) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("x")
    os.utime(path, (when, when))
    return path


def test_gc_errors(cli):
    # Old things gc would remove: a prefix of ours and a cached package.
    prefix = cli.cache / "envs" / "named" / "old"
    _old_file(prefix / ".metaflow-envs-prefix")
    os.utime(prefix, (OLD, OLD))
    package = _old_file(cli.cache / "pkgs" / "conda" / ("a" * 64) / "pkg-1.0-0.conda")
    for days in ("-1", "nan", "inf", "-inf", "NaN"):
        line = cli.fails("gc", "--older-than", days)
        assert "--older-than must be a number of days >= 0 (e.g. 30), not %s." % float(days) in line
    assert "Invalid value for '--older-than'" in cli.fails("gc", "--older-than", "abc", status=2)
    assert prefix.is_dir() and package.is_file()
    assert cli.run("gc", "--dry-run").stdout.startswith("Would remove 0 environments")


def test_gc_skips_directories_it_did_not_create(cli):
    foreign = [cli.cache / "envs" / "named" / "mine", cli.cache / "envs" / "linux-64" / "abc" / "def"]
    for directory in foreign:
        _old_file(directory / "precious.txt")
        os.utime(directory, (OLD, OLD))
    ours = cli.cache / "envs" / "named" / "old"
    _old_file(ours / ".metaflow-envs-prefix")
    _old_file(ours / "bin" / "python")
    for directory in (ours, ours / "bin"):
        os.utime(directory, (OLD, OLD))
    out = cli.run("gc", "--older-than", "1").stdout
    for directory in foreign:
        assert "Skipped %s: metaflow-envs did not create it" % directory in out
        assert (directory / "precious.txt").read_text() == "x"
    assert "Removed environment %s" % ours in out and not ours.exists()


def test_gc_removes_stale_temp_files_only(cli):
    import subprocess
    import sys

    proc = subprocess.Popen([sys.executable, "-c", ""])
    proc.wait()  # a process that is no longer running
    hour_ago = time.time() - 3600  # past the grace a writer on another host gets, not a day old
    sha_dir = cli.cache / "pkgs" / "conda" / ("b" * 64)
    dead = [_old_file(sha_dir / (".partial-%d-x" % proc.pid), hour_ago),
            _old_file(cli.cache / "locks" / "linux-64" / "r" / (".partial-%d-y" % proc.pid), hour_ago),
            _old_file(cli.cache / (".partial-%d-z" % os.getpid()), OLD)]  # a day old: whoever wrote it
    live = _old_file(sha_dir / (".partial-%d-z" % os.getpid()), hour_ago)  # this test's process runs
    out = cli.run("gc", "--older-than", "30").stdout
    for path in dead:
        assert "Removed unfinished temp file %s" % path in out and not path.exists()
    assert live.exists() and str(live) not in out


def test_partials_with_impossible_pids_are_left_until_old(cli):
    """Anyone can drop a `.partial-<digits>-*` file into the cache: a pid no process can have
    (here past 64 bits) is not ours to judge, so it stays until the day-old rule applies."""
    hour_ago = time.time() - 3600  # past the grace, so its writer's pid would be asked about
    sha_dir = cli.cache / "pkgs" / "conda" / ("c" * 64)
    names = (".partial-99999999999999999999-x", ".partial-4294967296-y", ".partial-0-z", ".partial-٣-w")
    young = [_old_file(directory / name, hour_ago) for directory in (cli.cache, sha_dir) for name in names]
    old = _old_file(cli.cache / ".partial-99999999999999999999-old")
    (cli.root / "environment.yml").write_text("channels: [conda-forge]\ndependencies:\n  - tinyutil==1.1.0\n")
    cli.run("resolve", "-f", "environment.yml", "-q", "--skip-metaflow-deps")  # writes beside the index
    assert not old.exists()  # a day old: the index's writer removed it
    old = _old_file(sha_dir / ".partial-99999999999999999999-old")
    out = cli.run("gc", "--older-than", "30").stdout
    assert "Removed unfinished temp file %s" % old in out and not old.exists()
    for path in young:
        assert path.exists() and str(path) not in out
