"""Commands against an S3 datastore (a real S3 server on loopback): publish on resolve,
`get` into a machine that never saw the environment, `--local-only`."""
import json

from .conftest import s3_cli as _s3_cli


def test_publish_get_and_local_only(tmp_path, channel_server, s3_server, s3_prefix):
    alice = _s3_cli(tmp_path, channel_server, s3_server, s3_prefix, "alice")
    (alice.root / "environment.yml").write_text("dependencies:\n  - tinyutil==1.1.0\n")
    proc = alice.run("resolve", "-f", "environment.yml", "--alias", "team/shared:v1", "--json")
    doc = json.loads(proc.stdout)[0]
    assert "Publishing to s3://" in proc.stderr

    # Another machine: nothing local, everything from the datastore.
    bob = _s3_cli(tmp_path, channel_server, s3_server, s3_prefix, "bob")
    assert bob.json("list", "--json") == {"environments": [], "aliases": {}}
    out = bob.run("get", "team/shared:v1").stdout
    assert "is in the local index (default)" in out
    listed = bob.json("list", "--json")
    assert [e["env_id"] for e in listed["environments"]] == [doc["env_id"]]
    assert listed["environments"][0]["is_default"] is True
    # --local-only never looks in the datastore.
    carol = _s3_cli(tmp_path, channel_server, s3_server, s3_prefix, "carol")
    assert "no such alias." in carol.fails("show", "--local-only", "team/shared:v1")
    # Tags of a name are found in the datastore too.
    line = carol.fails("show", "team/shared")
    assert "no tag 'latest' of team/shared locally or in the datastore at s3://" in line
    assert line.endswith("; tags: v1. Check the name (`metaflow environment list` shows the aliases known here).")
    assert carol.json("show", "--json", "team/shared:v1")[0]["env_id"] == doc["env_id"]
    # ... nor publishes there.
    (carol.root / "other.yml").write_text("dependencies:\n  - tinyutil==2.0.0\n")
    proc = carol.run("resolve", "-f", "other.yml", "--local-only", "--alias", "team/private:v1")
    assert "Publishing" not in proc.stderr
    assert "Unknown environment 'team/private:v1'" in bob.fails("show", "team/private:v1")
    # --datastore local overrides METAFLOW_DEFAULT_DATASTORE.
    assert bob.json("--datastore", "local", "list", "--json")["aliases"]["team/shared:v1"] == doc["env_id"]
