"""Settings of the reference extension (metaflow-netflixext) its users carry over: each is
honoured with the reference's meaning, or refused by name (docs/migrating.md). Through the real
command line and a real flow."""
import json
import re
from pathlib import Path

from .conftest import assert_one_line_error

# A company's own extension, as the reference's users have them: a remote step decorator
# `@titus`, and its configuration naming it among the remote commands, the reference's way
# (CONDA_REMOTE_COMMANDS is a constant of the reference's configuration, not a setting).
EXTENSION = {
    "metaflow_extensions/mycompany/plugins/mfextinit_mycompany.py":
        'STEP_DECORATORS_DESC = [("titus", ".titus_decorator.TitusDecorator")]\n',
    "metaflow_extensions/mycompany/plugins/titus_decorator.py":
        "from metaflow.decorators import StepDecorator\n\n\n"
        "class TitusDecorator(StepDecorator):\n    name = 'titus'\n    defaults = {'gpu': None}\n",
    "metaflow_extensions/mycompany/config/mfextinit_mycompany.py":
        'CONDA_REMOTE_COMMANDS = ("batch", "kubernetes", "titus")\n',
}


def _extension(root: Path) -> str:
    for relative, text in EXTENSION.items():
        path = root / "ext" / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return str(root / "ext")


def _platforms(proc) -> dict:
    """step -> the platform `environment show` says its environment is looked up for."""
    return dict(re.findall(r"^Step (\w+): looked up when the task starts: \S+ \(([\w-]+)\)$", proc.stdout, re.M))


def test_remote_commands_from_an_extension_and_from_the_setting(cli):
    env = {"PYTHONPATH": _extension(cli.root), "METAFLOW_CONDA_REMOTE_ARCH": "linux-aarch64"}
    show = ["--environment=conda", "environment", "show"]
    proc = cli.flow("remote_commands_flow.py", *show, env=env)
    assert _platforms(proc) == {"start": "linux-aarch64", "middle": "linux-64", "end": "linux-64"}, proc.stdout
    # The setting replaces the default list; the extension's list still adds `titus`.
    proc = cli.flow("remote_commands_flow.py", *show, env=dict(env, METAFLOW_CONDA_REMOTE_COMMANDS="kubernetes,card"))
    assert _platforms(proc) == {"start": "linux-aarch64", "middle": "linux-aarch64", "end": "linux-64"}
    # A remote decorator's `gpu` asks for a GPU: the step resolves with the default CUDA driver.
    resolved = cli.flow("remote_commands_flow.py", "--environment=conda", "environment", "resolve", "--dry-run",
                        "gpu", env={"PYTHONPATH": env["PYTHONPATH"]})
    assert re.search(r"^gpu\s+\S+\s+\S+\s+linux-64\s", resolved.stdout, re.M), resolved.stdout + resolved.stderr
    bad = cli.flow("remote_commands_flow.py", *show, ok=False, env=dict(env, METAFLOW_CONDA_REMOTE_COMMANDS="my-k8s"))
    assert bad.returncode != 0 and "Traceback" not in bad.stderr
    assert "METAFLOW_CONDA_REMOTE_COMMANDS must be comma-separated step decorator names" in bad.stderr


def test_all_archs_from_a_profile_in_the_reference_shape_limits_the_platforms(cli):
    home = cli.root / "home"
    home.mkdir()
    (home / "config.json").write_text(json.dumps({"METAFLOW_CONDA_ALL_ARCHS": ["linux-64", "osx-arm64"]}))
    (cli.root / "six.txt").write_text("six==1.16.0\n")
    line = cli.fails("resolve", "-r", "six.txt", "--arch", "linux-aarch64", "--skip-metaflow-deps")
    assert "linux-aarch64 is not among the platforms of METAFLOW_CONDA_ALL_ARCHS (linux-64, osx-arm64)" in line
    assert not (cli.cache / "index").exists() or not list((cli.cache / "index").rglob("*aarch64*"))


def test_sys_markers_stated_as_uv_sets_them_are_honoured_others_refused(cli):
    (cli.root / "six.txt").write_text("six==1.16.0\n")
    stated = json.dumps({"linux-64": {"platform_machine": "x86_64", "sys_platform": "linux"}})
    docs = cli.json("resolve", "-r", "six.txt", "--arch", "linux-64", "--json", "-q", "--skip-metaflow-deps",
                    env={"METAFLOW_CONDA_SYS_MARKERS": stated})
    assert "six" in {p["name"] for p in docs[0]["packages"]}
    release = json.dumps({"linux-64": {"platform_release": "6.5.13"}})
    line = cli.fails("resolve", "-r", "six.txt", "--arch", "linux-64", "--skip-metaflow-deps",
                     env={"METAFLOW_CONDA_SYS_MARKERS": release})
    assert "METAFLOW_CONDA_SYS_MARKERS" in line and "platform_release of linux-64 cannot be set" in line
    machine = json.dumps({"linux-aarch64": {"platform_machine": "x86_64"}})
    line = cli.fails("resolve", "-r", "six.txt", "--arch", "linux-64", "--skip-metaflow-deps",
                     env={"METAFLOW_CONDA_SYS_MARKERS": machine})
    assert "platform_machine is 'aarch64' on linux-aarch64" in line


def test_sys_default_packages_per_platform_from_a_profile(cli):
    """The reference's shape, {"linux-64": {"__cuda": ...}}, as a JSON object in a profile."""
    home = cli.root / "home"
    home.mkdir()
    (home / "config.json").write_text(json.dumps({"METAFLOW_CONDA_SYS_DEFAULT_PACKAGES": {
        "linux-64": {"__cuda": "12.8"}, "osx-arm64": {"__cuda": "12.4"}}}))
    (cli.root / "cuda.yml").write_text("channels: [conda-forge]\ndependencies:\n  - needscuda\n")
    docs = cli.json("resolve", "-f", "cuda.yml", "--arch", "linux-64", "--json", "-q", "--skip-metaflow-deps")
    versions = {p["name"]: p["version"] for p in docs[0]["packages"]}
    assert versions["needscuda"] == "2.0.0"  # needs __cuda >=12.8: linux-64's entry applied


def test_ignore_caching_datastores_decides_where_environments_are_published(cli):
    (cli.root / "six.txt").write_text("six==1.16.0\n")
    store = cli.root / "datastore" / ".metaflow" / "conda_env"
    cli.run("resolve", "-r", "six.txt", "-q", "--skip-metaflow-deps")
    assert not store.exists()  # the default ignores the local datastore, as the reference's does
    cli.run("resolve", "-r", "six.txt", "-q", "--skip-metaflow-deps", "--force",
            env={"METAFLOW_CONDA_IGNORE_CACHING_DATASTORES": "[]"})
    assert list(store.glob("envs/*/*/*/env.json")), "not published to the local datastore"
    assert list(store.glob("packages/pypi/*/six-1.16.0-*.whl"))
