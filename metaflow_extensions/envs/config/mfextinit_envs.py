"""Every setting of metaflow-envs, with its default. Each can be set as an environment variable
(`METAFLOW_<NAME>`) or in a Metaflow profile (`~/.metaflowconfig/config.json`).

Numeric defaults are strings on purpose: Metaflow converts a setting to its default's type
when it is imported, so a bad value would end every command in a traceback; the engine reads
them with `settings.number`, which names the setting in one message."""
from metaflow.metaflow_config_funcs import from_conf

# Conda channels used when a request names none (comma-separated names or URLs).
CONDA_CHANNELS = from_conf("CONDA_CHANNELS", "conda-forge")
# Prefix turning a channel name into a URL (conda's channel_alias): point it at a mirror.
CONDA_CHANNEL_ALIAS = from_conf("CONDA_CHANNEL_ALIAS", "https://conda.anaconda.org/")
# Where the Python of a PyPI-only environment comes from: `conda` (the `python` package of the
# channels) or `system` (an interpreter of the requested version already on this machine).
# Anything else is refused. It is part of each request: an environment made with one source
# is never reused for a request made with the other.
CONDA_PYTHON_SOURCE = from_conf("CONDA_PYTHON_SOURCE", "conda")
# METAFLOW_CONDA_CACHE_DIR — local caches (packages, repodata, uv, rattler, prefixes); default
# $XDG_CACHE_HOME/metaflow-envs. Read from the process environment only, on purpose: it is a
# path of this machine, and Metaflow forwards configured settings to remote nodes.
# The PyPI index of a request that names none (no --index-url, no default uv/Poetry index).
# Default: none set, so pip's index-url (PIP_INDEX_URL, then pip.conf's [install]/[global]),
# else https://pypi.org/simple. Either way pip's extra-index-url (PIP_EXTRA_INDEX_URL, pip.conf)
# is searched too. The index chosen is part of the request (its req_id and lock), so users
# whose pip configurations differ never share an environment unknowingly.
CONDA_DEFAULT_PYPI_SOURCE = from_conf("CONDA_DEFAULT_PYPI_SOURCE")
# How several PyPI indexes are searched, as uv's --index-strategy: `first-index` (each package
# from the first index that has it), `unsafe-first-match` or `unsafe-best-match` (every index's
# candidates compared, the best taken: what pip does). Empty: pip's rule for indexes from pip's
# world (pip.conf, PIP_*, requirements files, the decorators, environment.yml) and uv's rule
# (first-index) for indexes declared the uv way (pyproject.toml's [[tool.uv.index]]). Part of the
# request (its req_id); anything else is refused.
CONDA_PYPI_INDEX_STRATEGY = from_conf("CONDA_PYPI_INDEX_STRATEGY", "")
# JSON {"host[:port]": ["user", "password"]}: credentials for channels and indexes.
# Never written to a lock, a log or a cache.
CONDA_SRCS_AUTH_INFO = from_conf("CONDA_SRCS_AUTH_INFO")
# Seconds the solver may spend on one environment.
CONDA_RESOLVE_TIMEOUT = from_conf("CONDA_RESOLVE_TIMEOUT", "600")
# Seconds a PyPI index page (the list of a package's files) cached by uv is reused without
# asking the index again. pypi.org declares 600 itself; this also covers mirrors and private
# indexes that send no caching headers, which would otherwise be fetched again on every
# resolution. It replaces what an index says (an index sending `no-cache` is reused too), and a
# cached page keeps the lifetime it was fetched with. 0: ask the index for every page on every
# resolution (uv's cache is then not used for resolving at all).
CONDA_PYPI_INDEX_MAX_AGE = from_conf("CONDA_PYPI_INDEX_MAX_AGE", "600")
# Seconds to wait for another process holding a lock on a prefix or the local index.
CONDA_LOCK_TIMEOUT = from_conf("CONDA_LOCK_TIMEOUT", "600")
# Platform that remote steps (@kubernetes, @batch, deployed flows) resolve for, e.g.
# linux-aarch64. Default: METAFLOW_KUBERNETES_CONDA_ARCH if set, else linux-64.
CONDA_REMOTE_ARCH = from_conf("CONDA_REMOTE_ARCH")
# glibc version assumed on Linux targets (virtual package __glibc, manylinux wheel tags).
CONDA_GLIBC_VERSION = from_conf("CONDA_GLIBC_VERSION", "2.28")
# macOS version assumed on osx targets (virtual package __osx, macosx wheel tags).
CONDA_OSX_VERSION = from_conf("CONDA_OSX_VERSION", "11.0")
# Virtual packages every target is resolved against, as JSON: `{"__name": "version"}` for every
# platform and/or `{"<platform>": {"__name": "version"}}` for one, e.g.
# '{"linux-64": {"__glibc": "2.31"}}'. Names: __cuda, __glibc, __linux, __osx, __unix,
# __archspec; a version may carry a build ("12.4=0"). A request's own declarations
# (@sys_packages, --sys-pkg, `sys:`) win for a name, then the platform's entry, then the
# entries for every platform. Packages a target's OS lacks (__glibc on osx) are not applied to
# it. Default: none (the target's own: __glibc from CONDA_GLIBC_VERSION...).
CONDA_SYS_DEFAULT_PACKAGES = from_conf("CONDA_SYS_DEFAULT_PACKAGES")
# Virtual packages of a step asking for a GPU (@resources, @kubernetes or @batch with gpu > 0),
# under the flow's and step's own declarations, as JSON `{"__name": "version"}`. Default (when
# unset): {"__cuda": "12.4"}, a CUDA 12 driver (NVIDIA driver 550 or newer), which conda-forge's
# CUDA 12 builds (their `__cuda >=12` via cuda-version 12.x) resolve against; '{}' adds nothing.
CONDA_SYS_DEFAULT_GPU_PACKAGES = from_conf("CONDA_SYS_DEFAULT_GPU_PACKAGES")
# Where environments are stored, per datastore type. Default: a `conda_env` folder under the
# datastore's root (METAFLOW_DATASTORE_SYSROOT_<TYPE>).
CONDA_S3ROOT = from_conf("CONDA_S3ROOT")
CONDA_AZUREROOT = from_conf("CONDA_AZUREROOT")
CONDA_GSROOT = from_conf("CONDA_GSROOT")
CONDA_LOCALROOT = from_conf("CONDA_LOCALROOT")
# Folder names, under that root, of the packages and of the locks.
CONDA_PACKAGES_DIRNAME = from_conf("CONDA_PACKAGES_DIRNAME", "packages")
CONDA_ENVS_DIRNAME = from_conf("CONDA_ENVS_DIRNAME", "envs")
# Reuse environments resolved by others for a request unknown locally: `:none:` (resolve
# again), `:username:` (my own), `:any:` (anyone's) or a comma-separated list of users.
CONDA_USE_REMOTE_LATEST = from_conf("CONDA_USE_REMOTE_LATEST", ":none:")
# A changed request keeps every version its previous lock chose that it still allows (for a flow
# step: what that step resolved to last on this machine). `:all:` lets every package move to
# the newest allowed, a comma-separated list of package names lets those move; either makes the
# steps' environments resolve again even when their request is unchanged. Default: empty.
CONDA_UPGRADE = from_conf("CONDA_UPGRADE", "")
# `.conda` or `.tar.bz2`: a Conda package only available in the other format is transmuted
# when published, and both forms are kept in the store.
CONDA_PREFERRED_FORMAT = from_conf("CONDA_PREFERRED_FORMAT")
# Attempts of our own around each datastore call (on top of the backend's own retries).
CONDA_STORE_RETRIES = from_conf("CONDA_STORE_RETRIES", "3")
# Set to 1 to make flows verify each environment they resolve for a step before any task runs,
# as `metaflow environment resolve --verify` does: hydrated in a scratch prefix and each
# requested package imported; one that does not import stops the run naming the step. Only
# environments for this machine's platform can be verified (the others are reported as not
# verified); a success is remembered on this machine. Default 0: not verified.
CONDA_VERIFY = from_conf("CONDA_VERIFY", "0")
# --environment=uv: the optional dependencies (extras, `[project.optional-dependencies]`) and
# dependency groups (`[dependency-groups]`) of the uv project installed with its dependencies,
# comma-separated, as `uv sync --extra X --group Y` would. Default: none beyond uv's default
# groups other than `dev`, what Metaflow's own uv environment installs (`uv sync --no-dev`);
# `dev` here brings that group back.
CONDA_UV_EXTRAS = from_conf("CONDA_UV_EXTRAS")
CONDA_UV_GROUPS = from_conf("CONDA_UV_GROUPS")
# Set to 1 to see full tracebacks instead of one-line errors.
DEBUG_CONDA = from_conf("DEBUG_CONDA", False)
