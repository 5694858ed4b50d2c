"""Where metaflow-envs keeps things, spelled once: datastore keys, prefix markers and the
local cache's folder names.

Standard library only and importing nothing of ours: the node bootstrap reads it before any
of the tools are importable.

Datastore (under the store root; `packages_dir`/`envs_dir` are the CONDA_PACKAGES_DIRNAME and
CONDA_ENVS_DIRNAME settings):
    <packages_dir>/<kind>/<sha256>/<filename>      content-addressed, written once
    <envs_dir>/<arch>/<req_id>/<full_id>/env.json  the lock
    aliases/<generic|pathspec>/<alias>             -> EnvID (small JSON)
    tools/<arch>/manifest.json                     what a bare node needs to hydrate

The cache folder names are not versioned (no `pkgs-v1` as uv's buckets are): renaming one
would silently orphan every existing cache (re-downloaded, and never collected by gc, which
only knows the new name). A change of an entry's format must come with a new name then.
"""

# ---- datastore keys ------------------------------------------------------------------------
ALIASES_DIR = "aliases"
TOOLS_DIR = "tools"
LOCK_FILE = "env.json"


def package_key(packages_dir: str, kind: str, sha256: str, filename: str) -> str:
    """A package's key; `filename` must already be checked safe (no `/`)."""
    return "/".join((packages_dir, kind, sha256, filename))


def package_kind_dir(packages_dir: str, kind: str) -> str:
    """The folder listing every stored package of one kind."""
    return "/".join((packages_dir, kind))


def env_key(envs_dir: str, arch: str, req_id: str, full_id: str) -> str:
    return "/".join((envs_dir, arch, req_id, full_id, LOCK_FILE))


def alias_key(kind: str, name: str) -> str:
    """`name` is the alias as stored: `name:tag` for a generic alias, `Flow/run/step` for a pathspec."""
    return "/".join((ALIASES_DIR, kind, name))


def tools_manifest_key(arch: str) -> str:
    return "/".join((TOOLS_DIR, arch, "manifest.json"))


# ---- markers in a prefix (or a directory we wrote into) --------------------------------------
PREFIX_COMPLETE = ".metaflow-envs-complete"
PREFIX_OWNER = ".metaflow-envs-prefix"
PREFIX_MANIFEST = ".metaflow-envs-manifest"  # what `create --into-dir` wrote into a directory (JSON)
PREFIX_ENV_ID = ".metaflow-envs-id"  # `req_id:full_id:arch`, read by tasks for their metadata

# ---- the node's working folders --------------------------------------------------------------
NODE_TOOLS_DIR = ".metaflow-envs-tools"  # the unpacked tools, in the task's working directory
NODE_TOOLS_COMPLETE = ".complete"

# ---- local cache folders (under the cache root) -------------------------------------------------
CACHE_INDEX = "index.json"  # the local index of environments and aliases
CACHE_LOCKS = "locks"  # <arch>/<req_id>/<full_id>.json, the local copies of locks
CACHE_PACKAGES = "pkgs"  # <kind>/<sha256>/<filename>
CACHE_ENVS = "envs"  # prefixes: <arch>/<req_id>/<full_id>, and named/<NAME>
CACHE_ENVS_NAMED = "named"
CACHE_BUILDS = "builds"
CACHE_REPODATA = "repodata"
CACHE_RATTLER = "rattler"
CACHE_UV = "uv"
CACHE_CODE = "code"
CACHE_CODE_LOCKS = "code-locks"
CACHE_CHECKED_ARCHIVES = "checked-archives"
CACHE_BUILD_ENVS = "build-envs"
CACHE_SCRATCH = "scratch"
CACHE_VERIFIED = "verified"
CACHE_INTERPRETERS = "interpreters.json"
