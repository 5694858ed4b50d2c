"""Hydrate a step's environment on a bare remote node, then let Metaflow run the step in it.

    python -m metaflow_extensions.envs.plugins.envs.integration.bootstrap \
        --datastore s3 --prefix-dir metaflow_envs --step train \
        (--env-id REQ:FULL:ARCH | --name NAME --kind generic|pathspec --arch ARCH)

The node has only a Python, the code package (Metaflow and this extension) and the
datastore. Step 1 uses nothing but those to fetch our tools (py-rattler, uv...) from
`tools/<arch>/`; step 2 imports the engine and creates the prefix at <prefix-dir>/<step>,
where the environment's `executable` points.
"""
import argparse
import hashlib
import json
import os
import shlex
import stat
import sys
import tempfile
import zipfile
from pathlib import Path
from typing import Dict, List, Mapping, Optional

# Standard library only, like this module: nothing else is importable before the tools are.
from .. import layout, settings
from ..errors import exit_on_user_error
from ..ids import EnvID, pathspec_alias
from ..kinds import PackageKind


# The steps' locks in the code package (OTHER_CONTENT; environment.add_to_package).
LOCKS_FILE = "metaflow-envs-locks.json"


def _log(message: str) -> None:
    print("[metaflow-envs] %s" % message, file=sys.stderr, flush=True)


def _fetch_tools(datastore: str, arch: str, dest: Path) -> None:
    """Download and unpack the node tools into `dest` (importable), with Metaflow alone."""
    from ..store.roots import default_root, storage_class

    storage = storage_class(datastore)(default_root(datastore))
    manifest = _load(storage, [layout.tools_manifest_key(arch)])
    if not manifest:
        raise SystemExit("metaflow-envs: no tools for %s in the %s datastore; run or deploy the flow "
                         "again from a machine with metaflow-envs installed." % (arch, datastore))
    manifest = json.loads(next(iter(manifest.values())))
    floor = tuple(int(p) for p in str(manifest.get("python") or "3.9").split("."))
    if sys.version_info[:2] < floor:
        raise SystemExit("metaflow-envs: the node's Python %d.%d is too old for the environment tools "
                         "(they need Python %s or newer): use an image with a newer python."
                         % (sys.version_info[0], sys.version_info[1], manifest.get("python")))
    wheels = manifest["wheels"]
    packages_dir = settings.value("CONDA_PACKAGES_DIRNAME")  # the forwarded value, else the profile's
    keys = {layout.package_key(packages_dir, PackageKind.PYPI.value, w["sha256"], w["filename"]): w for w in wheels}
    loaded = _load(storage, list(keys), binary=True)
    missing = sorted(set(keys) - set(loaded))
    if missing:  # e.g. published under another METAFLOW_CONDA_PACKAGES_DIRNAME
        raise SystemExit("metaflow-envs: tool %s is missing from the %s datastore (%s); run or deploy the flow "
                         "again from a machine with metaflow-envs installed." % (keys[missing[0]]["filename"],
                                                                                  datastore, missing[0]))
    for key, data in loaded.items():
        wheel = keys[key]
        if hashlib.sha256(data).hexdigest() != wheel["sha256"]:
            raise SystemExit("metaflow-envs: tool %s is corrupted in the datastore." % wheel["filename"])
        with tempfile.TemporaryFile() as handle:
            handle.write(data)
            with zipfile.ZipFile(handle) as archive:
                for member in archive.namelist():
                    if member.startswith("/") or ".." in member.split("/"):
                        raise SystemExit("metaflow-envs: unsafe path %s in %s." % (member, wheel["filename"]))
                archive.extractall(dest)
    for binary in dest.glob("uv-*.data/scripts/uv"):
        binary.chmod(binary.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
        os.environ["METAFLOW_ENVS_UV"] = str(binary)


def _load(storage, keys: List[str], binary: bool = False) -> Dict[str, object]:
    out: Dict[str, object] = {}
    with storage.load_bytes(keys) as loaded:
        for key, path, _meta in loaded:
            if path is not None:
                data = Path(path).read_bytes()
                out[key] = data if binary else data.decode("utf-8")
    return out


@exit_on_user_error
def main(argv: List[str]) -> None:
    parser = argparse.ArgumentParser(prog="metaflow-envs bootstrap")
    parser.add_argument("--datastore", required=True)
    parser.add_argument("--prefix-dir", required=True)
    parser.add_argument("--step", required=True)
    parser.add_argument("--flow")
    parser.add_argument("--env-id")
    parser.add_argument("--name")
    parser.add_argument("--kind", default="generic")
    parser.add_argument("--arch")
    args = parser.parse_args(argv)
    if not args.env_id and not (args.name and args.arch):
        parser.error("give --env-id REQ:FULL:ARCH, or --name NAME and --arch ARCH")
    env_id = EnvID.parse(args.env_id) if args.env_id else None
    arch = env_id.arch if env_id else args.arch

    tools = Path(os.environ.get("METAFLOW_ENVS_TOOLS_DIR") or Path.cwd() / layout.NODE_TOOLS_DIR).absolute()
    if not (tools / layout.NODE_TOOLS_COMPLETE).exists():
        _log("fetching tools for %s" % arch)
        _fetch_tools(args.datastore, arch, tools)
        (tools / layout.NODE_TOOLS_COMPLETE).write_text("")
    else:
        for binary in tools.glob("uv-*.data/scripts/uv"):
            os.environ["METAFLOW_ENVS_UV"] = str(binary)
    sys.path.insert(0, str(tools))
    prefix = _hydrate(args, env_id, arch)
    exports = node_exports(os.environ, prefix, arch)
    exports_file(Path(args.prefix_dir), args.step).write_text(
        "".join("export %s=%s\n" % (key, shlex.quote(value)) for key, value in exports.items()))


def exports_file(prefix_dir: Path, step: str) -> Path:
    """The shell file the step's commands source after the bootstrap (see node_exports)."""
    return prefix_dir / (step + ".sh")


def node_exports(environ: Mapping[str, str], prefix: Path, arch: str) -> Dict[str, str]:
    """The variables the step runs with on the node, as the reference extension leaves them, so
    that nothing of the image shadows the environment:
    * PYTHONPATH keeps its first entry (the code package, which Metaflow's commands put first)
      and the entries of site-packages or dist-packages folders; the image's other folders (a
      module directory, a Python's standard library) are dropped. MF_ORIG_PYTHONPATH keeps the
      original.
    * LD_LIBRARY_PATH starts with the environment's lib/, before the image's folders (kept: a
      GPU driver's libraries live there); MF_ORIG_LD_LIBRARY_PATH keeps the original, which
      Metaflow's environment escape restores for the image's Python. Linux only: macOS ignores
      DYLD_LIBRARY_PATH for protected binaries."""
    out: Dict[str, str] = {}
    pythonpath = environ.get("PYTHONPATH")
    if pythonpath is not None:
        out["MF_ORIG_PYTHONPATH"] = pythonpath
        entries = pythonpath.split(os.pathsep)
        kept = entries[:1] + [e for e in entries[1:] if "site-packages" in e or "dist-packages" in e]
        out["PYTHONPATH"] = os.pathsep.join(e for e in kept if e)
    if arch.startswith("linux"):
        lib = str(Path(prefix).absolute() / "lib")
        library_path = environ.get("LD_LIBRARY_PATH")
        if library_path is not None:
            out["MF_ORIG_LD_LIBRARY_PATH"] = library_path
        out["LD_LIBRARY_PATH"] = os.pathsep.join(p for p in (lib, library_path) if p)
    return out


def packaged_lock(env_id: EnvID):
    """The lock of `env_id` from the code package (None: a package made without it), checked
    like any lock read back: its content must be what `env_id` names."""
    from ..errors import EnvError, SpecError
    from ..lock import ResolvedEnvironment

    try:
        from metaflow.packaging_sys import ContentType, MetaflowCodeContent
    except ImportError:  # Metaflow < 2.16: the package is extracted as it is, here
        path = LOCKS_FILE
    else:
        path = MetaflowCodeContent.get_filename(LOCKS_FILE, ContentType.OTHER_CONTENT)
    if not path or not os.path.isfile(path):
        return None
    try:
        with open(path, encoding="utf-8") as handle:
            locks = json.load(handle)["locks"]
        wanted = env_id.to_dict()
        entry = next((e for e in locks if isinstance(e, dict) and e.get("env_id") == wanted), None)
        return None if entry is None else ResolvedEnvironment.from_dict(entry, expected=env_id)
    except (OSError, ValueError, KeyError, TypeError, SpecError) as err:
        raise EnvError("The lock of %s in the code package's %s cannot be used (%s): deploy the flow again."
                       % (env_id, LOCKS_FILE, err)) from None


def _hydrate(args: argparse.Namespace, env_id: Optional[EnvID], arch: str) -> Path:
    from ..environments import Environments
    from ..ids import substitute_vars
    from ..store.datastore import EnvStore

    manager = Environments(store=EnvStore(args.datastore))
    if env_id is not None:
        env = packaged_lock(env_id) or manager.get(env_id)
    else:
        env = manager.lookup(substitute_vars(args.name, dict(os.environ)), arch=arch, kind=args.kind)
    prefix = Path(args.prefix_dir).absolute() / args.step
    manager.create(env, prefix)
    _log("step %s runs in environment %s (%s)" % (args.step, env.full_id[:12], prefix))
    # `Flow/run/step` names this environment from now on (Kubernetes, Batch and Argo set
    # METAFLOW_RUN_ID on the node; without it there is nothing to record). The lock came
    # from the datastore: the node records the name only, it publishes nothing back.
    run_id = os.environ.get("METAFLOW_RUN_ID")
    if args.flow and run_id:
        manager.record_alias(env, pathspec_alias(args.flow, run_id, args.step))
    return prefix


if __name__ == "__main__":
    main(sys.argv[1:])
