"""Every command's --help (with an example) and the progress display (terminal, plain, quiet)."""
import os
import pty
import subprocess

from .conftest import METAFLOW

COMMANDS = ["resolve", "show", "create", "alias", "get", "diff", "export", "list", "gc", "import-reference"]


def test_every_command_has_help_with_an_example(cli):
    out = cli.run("--help").stdout
    assert "Example" in out
    for command in COMMANDS:
        assert command in out
    for command in COMMANDS:
        text = cli.run(command, "--help").stdout
        assert "Example" in text and "metaflow environment %s" % command in text, command


def test_plain_progress_when_not_a_terminal_and_quiet(cli):
    (cli.root / "environment.yml").write_text("dependencies:\n  - tinyutil==1.1.0\n")
    proc = cli.run("resolve", "-f", "environment.yml")
    assert "Resolving for linux-64...\n" in proc.stderr
    assert "Resolving for linux-64: done in " in proc.stderr
    assert "\x1b[" not in proc.stderr  # no terminal codes
    quiet = cli.run("--quiet", "resolve", "-f", "environment.yml", "--force")
    assert [line for line in quiet.stderr.splitlines() if line.strip() and not line.startswith("Metaflow")] == []
    assert quiet.stdout.startswith("Environment for linux-64")


def test_rich_progress_on_a_terminal(cli):
    (cli.root / "environment.yml").write_text("dependencies:\n  - tinyutil==1.1.0\n")
    leader, follower = pty.openpty()
    try:
        proc = subprocess.run(METAFLOW + ["environment", "resolve", "-f", "environment.yml", "--json"],
                              cwd=str(cli.root), env=dict(cli.env, TERM="xterm", COLUMNS="100"),
                              stdout=subprocess.PIPE, stderr=follower, timeout=240)
        os.close(follower)
        follower = None
        chunks = []
        while True:
            try:
                data = os.read(leader, 65536)
            except OSError:
                break
            if not data:
                break
            chunks.append(data)
    finally:
        if follower is not None:
            os.close(follower)
        os.close(leader)
    assert proc.returncode == 0
    terminal = b"".join(chunks).decode(errors="replace")
    assert "\x1b[" in terminal and "Resolving for linux-64" in terminal
    assert "done in" not in terminal  # the plain form is for non-terminals
    assert proc.stdout.lstrip().startswith(b"[")  # stdout stays a clean JSON document



def test_a_mistyped_command_gets_a_did_you_mean(cli):
    assert "No such command 'shwo': did you mean 'show'?" in cli.fails("shwo", "team/x", status=2)
    assert "did you mean 'resolve'?" in cli.fails("resovle", status=2)
    error = cli.fails("frobnicate", status=2)
    assert "No such command 'frobnicate'" in error and "did you mean" not in error
