"""The options the reference extension's users type, spelled as it spells them: the group's
`--conda-root`, `--metadata`, `--quiet/--no-quiet` and `--quiet-file-output`, and the negative
form of every boolean flag (`--no-force`, `--non-local`, `--no-dry-run`...)."""
import json

import pytest
from metaflow._vendor import click

from metaflow_extensions.envs.cmd import environment_cmd
from metaflow_extensions.envs.plugins.envs.integration import flow_cli

from .conftest import s3_cli as _s3_cli

# The reference's spelling of the negative form, where it has the flag.
REFERENCE_NEGATIVES = {
    "quiet": "--no-quiet",
    "force": "--no-force",
    "dry_run": "--no-dry-run",
    "local_only": "--non-local",
    "skip_metaflow_deps": "--no-skip-metaflow-deps",
    "install_notebook": "--no-install-notebook",
    "set_default": "--no-set-default",
    "make_default": "--no-default",
}


def _commands():
    """(path, command) of every command and group of both CLIs."""
    def walk(path, command):
        yield path, command
        if isinstance(command, click.Group):
            for name, sub in sorted(command.commands.items()):
                yield from walk(path + " " + name, sub)

    yield from walk("metaflow", environment_cmd.cli)
    yield from walk("flow.py", flow_cli.cli)


def _flags():
    for path, command in _commands():
        for param in command.params:
            if isinstance(param, click.Option) and param.is_flag and param.is_bool_flag:
                yield "%s %s" % (path, param.opts[0]), param


def test_every_boolean_flag_has_its_negative_form():
    flags = dict(_flags())
    assert len(flags) > 30  # the walk found the commands
    missing = sorted(name for name, param in flags.items() if not param.secondary_opts)
    assert missing == []
    for name, param in flags.items():
        if param.name in REFERENCE_NEGATIVES:
            assert REFERENCE_NEGATIVES[param.name] in param.secondary_opts, name
    # The reference's flow-level `show` spells it --no-local-only: both spellings work everywhere.
    assert all("--no-local-only" in p.secondary_opts for p in flags.values() if p.name == "local_only")


def test_negative_forms_through_the_real_cli(seeded):
    """The last of a flag and its negative wins, as click's --flag/--no-flag does."""
    human = seeded.run("show", "--json", "--no-json", "team/tiny:v1").stdout
    assert human.startswith("Environment team/tiny:v1") and not human.lstrip().startswith("[")
    plan = seeded.run("create", "team/tiny:v1", "--no-dry-run", "--dry-run").stdout
    assert plan.startswith("Would create")
    quiet = seeded.run("--quiet", "--no-quiet", "create", "team/tiny:v1")
    assert quiet.stdout.startswith("Environment team/tiny:v1")


def test_quiet_file_output_and_metadata(seeded, tmp_path):
    """A script's `environment --quiet --quiet-file-output F create PATHSPEC`: F holds what
    stdout does (the Python to use). --metadata picks the provider the Metaflow client reads
    the step's code package from: METAFLOW_DEFAULT_METADATA says `service` here (no service
    exists), --metadata local wins."""
    out_file, into = tmp_path / "out" / "python.txt", tmp_path / "code"
    (tmp_path / "out").mkdir()
    proc = seeded.run("--quiet", "--metadata", "local", "--quiet-file-output", str(out_file),
                      "create", seeded.seed.run_pathspec, "--into-dir", str(into),
                      env={"METAFLOW_DEFAULT_METADATA": "service"})
    python = proc.stdout.strip()
    assert python.endswith("/bin/python") and out_file.read_text() == proc.stdout
    assert (into / "code_flow.py").is_file()
    assert "is a directory" in seeded.fails("--quiet-file-output", str(tmp_path), "list")
    # show: `ENV@arch`, then the reference's one-line description (ids first), as its scripts parse it.
    shown = seeded.json("--quiet-file-output", str(out_file), "show", "--json", "team/tiny:v1")[0]
    heading, line = out_file.read_text().splitlines()
    words = line.split(" ")
    assert heading == "team/tiny:v1@" + shown["env_id"]["arch"] and len(words) == 12
    assert words[:4] == [shown["env_id"]["req_id"], shown["env_id"]["full_id"], "team/tiny:v1", shown["env_id"]["arch"]]
    assert words[9] == "conda:python==3.11.7,tinyutil==1.1.0" and words[10] == "pip:"


def test_conda_root_and_non_local(tmp_path, channel_server, s3_server, s3_prefix):
    alice = _s3_cli(tmp_path, channel_server, s3_server, s3_prefix, "alice")
    bob = _s3_cli(tmp_path, channel_server, s3_server, s3_prefix, "bob")
    other_root = "s3://%s/%s/other-root" % (s3_server.bucket, s3_prefix)
    (alice.root / "environment.yml").write_text("dependencies:\n  - tinyutil==1.1.0\n")
    quiet_file = tmp_path / "resolved.txt"
    proc = alice.run("--conda-root", other_root, "--quiet-file-output", str(quiet_file), "resolve", "-f",
                     "environment.yml", "--skip-metaflow-deps", "--alias", "team/rooted:v1", "--json")
    assert "Publishing to %s" % other_root in proc.stderr
    doc = json.loads(proc.stdout)[0]
    # The reference's scripts: `sed -n 2p FILE | cut -d' ' -f1-2` gives the ids.
    arch, line = quiet_file.read_text().splitlines()
    assert arch == doc["env_id"]["arch"] and line.split(" ")[:2] == [doc["env_id"]["req_id"], doc["env_id"]["full_id"]]
    # Under that root only: not under the default one.
    assert "team/rooted:v1" in bob.fails("show", "team/rooted:v1")
    found = bob.json("--conda-root", other_root, "show", "--local-only", "--non-local", "--json", "team/rooted:v1")
    assert found[0]["env_id"] == doc["env_id"]
    carol = _s3_cli(tmp_path, channel_server, s3_server, s3_prefix, "carol")
    assert "no such alias" in carol.fails("--conda-root", other_root, "show", "--non-local", "--local-only",
                                          "team/rooted:v1")
    # Checked as the setting is, and refused where it means nothing.
    assert "--conda-root /tmp/x: METAFLOW_CONDA_S3ROOT must be an s3:// URL" in bob.fails(
        "--conda-root", "/tmp/x", "list")
    line = bob.fails("--datastore", "local", "--conda-root", other_root, "list")
    assert "the datastore is local" in line and "--datastore s3" in line


@pytest.mark.parametrize("args", [["--help"], ["create", "--help"]])
def test_help_names_the_negative_forms(cli, args):
    out = cli.run(*args).stdout
    assert "--no-quiet" in out
    if args[0] == "create":
        assert "--non-local" in out and "--no-install-notebook" in out and "--no-force" in out
    else:
        assert "--conda-root" in out and "--metadata" in out and "--quiet-file-output" in out
