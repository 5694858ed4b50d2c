"""Data read back from the local index, a lock or the datastore is checked before it names a
path or a package, through the real `metaflow environment` commands.

The `seeded` cache is a hard-linked copy of a shared seed: files are replaced, never edited
in place."""
import json
from pathlib import Path


def _replace(path: Path, text: str) -> None:
    path.unlink()
    path.write_text(text)


def _lock_path(cli, env_id) -> Path:
    return cli.cache / "locks" / env_id["arch"] / env_id["req_id"] / ("%s.json" % env_id["full_id"])


def test_an_alias_naming_a_path_outside_the_cache_is_refused(seeded, tmp_path):
    planted = tmp_path / "planted"  # what `../` ids would reach: a lock nobody resolved
    planted.mkdir()
    index_path = seeded.cache / "index.json"
    index = json.loads(index_path.read_text())
    index["aliases"]["aliases/generic/team/tiny:v1"] = {
        "req_id": "../../../planted", "full_id": "a" * 40, "arch": "linux-64"}
    _replace(index_path, json.dumps(index))
    error = seeded.fails("show", "--local-only", "team/tiny:v1")
    assert "local environment index %s is corrupted" % index_path in error
    assert "Invalid environment req_id '../../../planted'" in error


def test_a_lock_with_a_hostile_package_kind_is_refused_and_nothing_is_written(seeded, tmp_path):
    env_id = seeded.seed.ids["team/tiny:v1"]
    lock_path = _lock_path(seeded, env_id)
    lock = json.loads(lock_path.read_text())
    outside = tmp_path / "outside"
    lock["packages"][0]["kind"] = str(outside)
    _replace(lock_path, json.dumps(lock))
    error = seeded.fails("create", "--local-only", "team/tiny:v1")
    assert "The local lock %s cannot be used: Corrupted lock: package" % lock_path in error
    assert "has kind '%s'" % outside in error and "--force" in error
    assert not outside.exists()


def test_a_tampered_lock_is_detected_and_resolve_force_heals_it(seeded):
    env_id = seeded.seed.ids["team/six:v1"]
    lock_path = _lock_path(seeded, env_id)
    lock = json.loads(lock_path.read_text())
    six = next(p for p in lock["packages"] if p["name"] == "six")
    six["url"] = six["url"].replace("1.16.0", "1.17.0")  # what would be installed changes
    _replace(lock_path, json.dumps(lock))
    (seeded.root / "six.txt").write_text("six==1.16.0\n")

    error = seeded.fails("show", "team/six:v1")
    assert "does not match its content" in error and "--force" in error
    error = seeded.fails("resolve", "-r", "six.txt", "--skip-metaflow-deps")  # as the seed
    assert "does not match its content" in error

    docs = seeded.json("resolve", "-r", "six.txt", "--skip-metaflow-deps", "--force", "--json", "-q")
    assert docs[0]["env_id"] == env_id  # the same environment, its lock written again
    shown = seeded.json("show", "--json", "team/six:v1")
    assert [p["url"] for p in shown[0]["packages"] if p["name"] == "six"][0].count("1.16.0")


def test_show_by_id_says_a_corrupt_local_lock_is_corrupt_not_unknown(seeded):
    env_id = seeded.seed.ids["team/tiny:v1"]
    lock_path = _lock_path(seeded, env_id)
    _replace(lock_path, "{not json")
    error = seeded.fails("show", "%s:%s" % (env_id["req_id"], env_id["full_id"]))
    assert "The local lock %s cannot be used: Corrupted lock: it is not JSON" % lock_path in error
    assert "Re-resolve the environment (`--force`)" in error and "Unknown environment" not in error


def test_show_by_id_says_the_datastore_failed_not_unknown(cli):
    # A datastore read that fails (the lock's key is a folder, which no backend can read as a
    # file): the failure is what is shown, not an unknown environment.
    req_id, full_id = "a" * 40, "b" * 40
    cli.env.update({"METAFLOW_CONDA_LOCALROOT": str(cli.root / "store"), "METAFLOW_CONDA_STORE_RETRIES": "1",
                    "METAFLOW_CONDA_IGNORE_CACHING_DATASTORES": "azure"})
    (cli.root / "store" / "envs" / "linux-64" / req_id / full_id / "env.json").mkdir(parents=True)
    error = cli.fails("show", "%s:%s:linux-64" % (req_id, full_id))
    assert "Could not download envs/linux-64/%s/%s/env.json in the local datastore" % (req_id, full_id) in error
    assert "Unknown environment" not in error
