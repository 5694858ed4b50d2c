"""The one table of metaflow-envs' settings: name, default, what is allowed, and whether
Metaflow forwards the value to remote nodes. Standard library only: reading a setting (or its
default) imports no Metaflow, so a light entry point (the node bootstrap, a fast command) can.

Where a value comes from, first found wins:
1. the process environment, `METAFLOW_<NAME>`;
2. for a forwarded setting, Metaflow's configuration files, read here as Metaflow reads them
   (metaflow_config_funcs.from_conf): the project's `.metaflow/config.json` found from the
   working directory up, then the profile `$METAFLOW_HOME/config[_$METAFLOW_PROFILE].json`.
   Read here, not through `metaflow.metaflow_config`: the same answer with or without Metaflow
   loaded, and the raw value (Metaflow converts a value to its default's type: `"no"` would be
   true for a flag);
3. the default below.
A setting that is not forwarded is read from the process environment only: everything in
Metaflow's configuration is forwarded to remote nodes, and its value (a path) names something
of this machine only.

Every value is checked when it is read, by its parser, and a bad one stops with one message
naming the setting, the value and what is allowed (`SpecError`).

Adding a setting is one entry in SETTINGS: `config/mfextinit_envs.py` registers every forwarded
entry with Metaflow (so remote nodes get it) and docs/settings.md is generated from the table
(`python -m metaflow_extensions.envs.plugins.envs.settings_table > docs/settings.md`;
tests/unit/test_settings_doc.py checks the page is up to date). Read it with
`settings.value("CONDA_NAME")`.
"""
from __future__ import annotations

import json
import math
import os
import re
import sys
from dataclasses import dataclass
from typing import Any, Callable, Dict, Mapping, Optional, Tuple
from urllib.parse import urlsplit

from .errors import SpecError


class Refused(ValueError):
    """A parser does not accept a value; `detail` says why when `allowed` alone does not."""

    def __init__(self, detail: str = "") -> None:
        super().__init__(detail)
        self.detail = detail


# ---- parsers: each turns a raw value (text, or JSON from a profile) into what the code uses,
# or raises Refused; `allowed` says what it accepts, in messages and in docs/settings.md.
@dataclass(frozen=True)
class Number:
    low: float
    high: float
    whole: bool = False
    unit: str = "seconds"

    @property
    def allowed(self) -> str:
        kind = "a whole number" if self.whole else "a number"
        return "%s%s from %s to %s" % (kind, " of " + self.unit if self.unit else "", _num(self.low), _num(self.high))

    def __call__(self, value: Any) -> Any:
        if isinstance(value, bool):
            raise Refused()
        if isinstance(value, (int, float)):
            number: float = value
        elif isinstance(value, str):
            try:
                number = int(value.strip()) if self.whole else float(value.strip())
            except ValueError:
                raise Refused() from None
        else:
            raise Refused()
        # The range first: a profile's huge JSON integer is no float. 'inf' and 'nan' parse, but
        # no timeout or count is either (nan fails every comparison).
        if not self.low <= number <= self.high or not math.isfinite(number) or (self.whole and number != int(number)):
            raise Refused()
        return int(number) if self.whole else float(number)


def _num(number: float) -> str:
    return str(int(number)) if number == int(number) else str(number)


_TRUE, _FALSE = ("1", "true", "yes", "on"), ("0", "false", "no", "off", "")


@dataclass(frozen=True)
class Flag:
    allowed: str = "1, true, yes or on (on), or 0, false, no, off or empty (off)"

    def __call__(self, value: Any) -> bool:
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower() if isinstance(value, (str, int)) else None
        if text in _TRUE or text in _FALSE:
            return text in _TRUE
        raise Refused()


@dataclass(frozen=True)
class Choice:
    """One of a few words (any case); `spellings` maps each accepted word to its value."""

    spellings: Mapping[str, Any]
    allowed: str

    def __call__(self, value: Any) -> Any:
        if isinstance(value, str) and value.strip().lower() in self.spellings:
            return self.spellings[value.strip().lower()]
        raise Refused()


@dataclass(frozen=True)
class Items:
    """Comma-separated items (spaces around them ignored), each accepted by `check`; with
    `lists`, a list too."""

    item: str
    check: Callable[[str], bool]
    lists: bool = False

    @property
    def allowed(self) -> str:
        return "comma-separated %s%s" % (self.item, " (or a JSON list of them)" if self.lists else "")

    def __call__(self, value: Any) -> Tuple[str, ...]:
        if self.lists and isinstance(value, str) and value.strip().startswith("["):
            # A list, as the reference extension's profiles hold it: JSON, or Python's repr of
            # it as Metaflow forwards it to a node.
            try:
                value = json.loads(value)
            except ValueError:
                value = _python_literal(value)
        if self.lists and isinstance(value, (list, tuple)):
            if not all(isinstance(part, str) for part in value):
                raise Refused()
            value = ",".join(value)
        if not isinstance(value, str):
            raise Refused()
        items = tuple(part.strip() for part in value.split(",") if part.strip())
        for item in items:
            if not self.check(item):
                raise Refused("'%s' is not one" % item)
        return items


@dataclass(frozen=True)
class Text:
    """One value (spaces around it ignored) accepted by `check`, returned as `convert` makes it."""

    allowed: str
    check: Callable[[str], bool]
    convert: Callable[[str], Any] = str

    def __call__(self, value: Any) -> Any:
        if not isinstance(value, str) or not self.check(value.strip()):
            raise Refused()
        return self.convert(value.strip())


@dataclass(frozen=True)
class Json:
    """A JSON value (text, or already JSON in a profile) of the shape `check` accepts; empty
    text is the default."""

    allowed: str
    check: Callable[[Any], bool]

    def __call__(self, value: Any) -> Any:
        if isinstance(value, str):
            try:
                value = json.loads(value)
            except ValueError:
                value = _python_literal(value)
        if not self.check(value):
            raise Refused()
        return value


def _python_literal(text: str) -> Any:
    """A profile's JSON object reaches a remote node as Python's repr of it (Metaflow forwards a
    setting registered without a default with `str`): read that form too, safely."""
    import ast

    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError, MemoryError, RecursionError, TypeError):
        raise Refused() from None


# ---- shapes ----------------------------------------------------------------------------------
_NAME = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?$")  # a package, extra or group name
_CHANNEL = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*(/[A-Za-z0-9_.-]+)*$")  # conda-forge, nvidia/label/x
FOLDER_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")  # a store folder (CONDA_*_DIRNAME)
_USER = re.compile(r"^[A-Za-z0-9_.@+-]+$")
_VERSION = re.compile(r"^(\d{1,3})(?:\.(\d{1,3}))?(?:\.\d{1,3})?$")
# The platforms we resolve for (ids.CONDA_PLATFORMS; a unit test keeps the two equal).
PLATFORMS = ("linux-64", "linux-aarch64", "osx-64", "osx-arm64")


def _url(value: str) -> bool:
    """An http(s) URL with a host, or a file: URL (as spec.model.check_source_url)."""
    try:
        parts = urlsplit(value)
        host = parts.hostname
    except ValueError:
        return False
    if parts.scheme in ("http", "https"):
        return bool(host) and value.startswith(parts.scheme + "://") and " " not in value
    return parts.scheme == "file" and bool(parts.path)


def _channel(value: str) -> bool:
    return bool(_CHANNEL.match(value)) or _url(value) or (value.startswith("/") and "," not in value)


def _version_between(low: Tuple[int, int], high: Tuple[int, int]) -> Callable[[str], bool]:
    def check(value: str) -> bool:
        found = _VERSION.match(value)
        return bool(found) and low <= (int(found.group(1)), int(found.group(2) or 0)) <= high
    return check


def _with_minor(value: str) -> str:
    return value if "." in value else value + ".0"


def _absolute_path(value: str) -> bool:
    return bool(value) and os.path.isabs(os.path.expanduser(value))


def _uri(scheme: str) -> Callable[[str], bool]:
    return lambda value: value.startswith(scheme + "://") and len(value) > len(scheme) + 3 and " " not in value


def _container_path(value: str) -> bool:
    """Azure's `container/prefix`, as METAFLOW_DATASTORE_SYSROOT_AZURE writes it."""
    return bool(re.match(r"^[a-z0-9][a-z0-9-]{2,62}(/[^\s]+)?$", value))


def _auth_info(value: Any) -> bool:
    return isinstance(value, dict) and all(
        isinstance(host, str) and host and isinstance(pair, list) and len(pair) == 2
        and all(isinstance(part, str) for part in pair) for host, pair in value.items())


def _virtual_packages(value: Any) -> bool:
    """{"__name": "version"}: each name and version is checked where it is used
    (resolve/platforms.py), with the same rules as a request's own."""
    return isinstance(value, dict) and all(
        isinstance(k, str) and k.startswith("__") and isinstance(v, str) for k, v in value.items())


def _sys_packages(value: Any) -> bool:
    """{"__name": "version"} and/or {"<platform>": {"__name": "version"}}."""
    if not isinstance(value, dict):
        return False
    for key, entry in value.items():
        if key not in PLATFORMS and not str(key).startswith("__"):
            raise Refused("'%s' is neither a platform (%s) nor a system package" % (key, ", ".join(PLATFORMS)))
        if not _virtual_packages({key: entry} if key not in PLATFORMS else entry):
            return False
    return True


# The markers uv gives a target (its --python-platform, resolve/platforms.py): all that a
# target states, so all that CONDA_SYS_MARKERS can name.
TARGET_MARKERS: Dict[str, Dict[str, str]] = {
    "linux-64": {"os_name": "posix", "platform_machine": "x86_64", "platform_system": "Linux",
                 "sys_platform": "linux"},
    "linux-aarch64": {"os_name": "posix", "platform_machine": "aarch64", "platform_system": "Linux",
                      "sys_platform": "linux"},
    "osx-64": {"os_name": "posix", "platform_machine": "x86_64", "platform_system": "Darwin",
               "sys_platform": "darwin"},
    "osx-arm64": {"os_name": "posix", "platform_machine": "arm64", "platform_system": "Darwin",
                  "sys_platform": "darwin"},
}


def _sys_markers(value: Any) -> bool:
    """{"<platform>": {"<marker>": "value"}}, each marker one uv sets for that platform, with
    the value uv gives it: uv cannot be told otherwise, so another value is refused, not ignored."""
    if not isinstance(value, dict):
        return False
    for platform, markers in value.items():
        if platform not in PLATFORMS:
            raise Refused("'%s' is not a platform (%s)" % (platform, ", ".join(PLATFORMS)))
        if not isinstance(markers, dict) or not all(isinstance(v, str) for v in markers.values()):
            return False
        known = TARGET_MARKERS[platform]
        for marker, wanted in markers.items():
            if marker not in known:
                raise Refused("%s of %s cannot be set: uv derives a target's markers from its platform alone, "
                              "which states only %s; remove %s" % (marker, platform, ", ".join(known), marker))
            if wanted != known[marker]:
                raise Refused("%s is '%s' on %s, as uv resolves for it, not '%s'" % (
                    marker, known[marker], platform, wanted))
    return True


_DECORATOR = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def _remote_latest(value: str) -> bool:
    if value in (":none:", ":any:"):
        return True
    return all(_USER.match(u.strip()) or u.strip() == ":username:" for u in value.split(",") if u.strip()) \
        and any(u.strip() for u in value.split(","))


# ---- the table -------------------------------------------------------------------------------
@dataclass(frozen=True)
class Setting:
    name: str  # without METAFLOW_
    default: Optional[str]  # as text, the way it would be set; None: not set
    parser: Callable[[Any], Any]  # with `.allowed`
    doc: str  # one paragraph, for docs/settings.md
    section: str
    example: str  # a valid value other than the default (docs, tests)
    forwarded: bool = True  # registered with Metaflow's configuration, sent to remote nodes
    secret: bool = False  # never shown, not even in an error
    shown_default: Optional[str] = None  # how docs write a default computed at run time

    @property
    def variable(self) -> str:
        return "METAFLOW_" + self.name


SOURCES = "Where packages come from"
RESOLVING = "What is resolved"
STORE = "Where environments are stored"
MACHINE = "This machine"
SECTIONS = (SOURCES, RESOLVING, STORE, MACHINE)

SETTINGS: Tuple[Setting, ...] = (
    Setting("CONDA_CHANNELS", "conda-forge", Items("channel names, URLs or absolute paths", _channel),
            "Conda channels of a request that names none.", SOURCES, "conda-forge,bioconda"),
    Setting("CONDA_CHANNEL_ALIAS", "https://conda.anaconda.org/",
            Text("an http(s) or file URL", _url, lambda v: v if v.endswith("/") else v + "/"),
            "Prefix turning a channel name into a URL (conda's channel_alias): point it at a mirror.",
            SOURCES, "https://mirror.example.com/conda/"),
    Setting("CONDA_DEFAULT_PYPI_SOURCE", None,
            Text("a full http(s) or file URL, e.g. https://pypi.example.com/simple (nothing falls back to "
                 "PyPI)", _url),
            "The PyPI index of a request that names none (no --index-url, no default uv/Poetry index). "
            "Unset: pip's index-url (`PIP_INDEX_URL`, then pip.conf's [install]/[global]), else "
            "`https://pypi.org/simple`. Either way pip's extra-index-url (`PIP_EXTRA_INDEX_URL`, pip.conf) "
            "is searched too. The index chosen is part of the request (its req_id and lock), so users whose "
            "pip configurations differ never share an environment unknowingly.",
            SOURCES, "https://pypi.example.com/simple"),
    Setting("CONDA_SRCS_AUTH_INFO", None,
            Json('JSON of the form {"host[:port]": ["user", "password"]}', _auth_info),
            "Credentials for channels and indexes, by host. Never written to a lock, a log or a cache, "
            "and never shown, not even in an error about the setting itself.",
            SOURCES, '{"pypi.example.com": ["me", "secret"]}', secret=True),
    Setting("CONDA_PYPI_KEYRING_PROVIDER", "disabled",
            Choice({"disabled": "disabled", "subprocess": "subprocess"}, "disabled or subprocess"),
            "Where credentials of a PyPI index (or any HTTP(S) host we fetch from) come from when nothing else "
            "gives them: `subprocess` asks the `keyring` command on PATH (`keyring get <url> <user>`, or `--mode creds` without a user), as uv's "
            "`--keyring-provider subprocess` does, for uv and for the wheels this tool downloads itself. For "
            "Google Artifact Registry, AWS CodeArtifact or Azure Artifacts, install `keyring` with the cloud's "
            "backend (keyrings.google-artifactregistry-auth, keyrings.codeartifact, artifacts-keyring). "
            "Answers live in memory only: never in a lock, a log or a cache.", SOURCES, "subprocess"),
    Setting("CONDA_PYTHON_SOURCE", "conda",
            Choice({"conda": "conda", "system": "system"}, "conda or system"),
            "Where the Python of a PyPI-only environment comes from: `conda` (the `python` package of the "
            "channels) or `system` (an interpreter of the requested version already on this machine). It is "
            "part of each request: an environment made with one source is never reused for a request made "
            "with the other.", SOURCES, "system"),
    Setting("CONDA_PYPI_INDEX_STRATEGY", None,
            Choice({w: w for w in ("first-index", "unsafe-first-match", "unsafe-best-match")},
                   "first-index, unsafe-first-match or unsafe-best-match (or empty)"),
            "How several PyPI indexes are searched, as uv's `--index-strategy`: `first-index` (each package "
            "from the first index that has it), `unsafe-first-match`, or `unsafe-best-match` (every index's "
            "candidates compared and the best taken: what pip does). Empty: pip's rule for indexes from pip's "
            "world (pip.conf, `PIP_*`, requirements files, the decorators, environment.yml) and uv's rule "
            "(`first-index`) for indexes declared the uv way (pyproject.toml's `[[tool.uv.index]]`). Part of "
            "the request (its req_id); see [pip-config.md](pip-config.md).", SOURCES, "unsafe-best-match"),
    Setting("CONDA_PYPI_INDEX_MAX_AGE", "600", Number(0, 7 * 86400, whole=True),
            "Seconds a PyPI index page (the list of a package's files) cached by uv is reused without asking "
            "the index again. pypi.org declares 600 itself; this also covers mirrors and private indexes that "
            "send no caching headers. It replaces what an index says, and a cached page keeps the lifetime it "
            "was fetched with. `0`: ask the index for every page on every resolution.", SOURCES, "0"),

    Setting("CONDA_RESOLVE_TIMEOUT", "600", Number(1, 7 * 86400),
            "Seconds the Conda solver may spend on one environment.", RESOLVING, "1200"),
    Setting("CONDA_REMOTE_ARCH", None, Choice({p: p for p in PLATFORMS}, " or ".join(PLATFORMS)),
            "Platform that remote steps (`@kubernetes`, `@batch`, deployed flows) resolve for. Unset: "
            "`METAFLOW_KUBERNETES_CONDA_ARCH` if set, else `linux-64`.", RESOLVING, "linux-aarch64"),
    Setting("CONDA_REMOTE_COMMANDS", ",".join(("kubernetes", "batch", "nvidia", "snowpark", "slurm", "nvct",
                                                "skypilot_step")),
            Items("step decorator names", lambda v: bool(_DECORATOR.match(v)), lists=True),
            "The step decorators that send a step to another machine, as the reference extension's "
            "`CONDA_REMOTE_COMMANDS`: such a step is resolved for `METAFLOW_CONDA_REMOTE_ARCH`, its environment "
            "and the node tools are published to the datastore, its container command hydrates the environment "
            "with the node bootstrap, and its `gpu` attribute asks for a GPU. The value replaces the list: to add "
            "a decorator of your own (a company's Kubernetes decorator...), name the defaults too. A list from "
            "another extension's configuration (`CONDA_REMOTE_COMMANDS = (...)` in its `mfextinit_*.py`, as the "
            "reference's users set it) is added to it.", RESOLVING, "kubernetes,batch,titus"),
    Setting("CONDA_ALL_ARCHS", ",".join(PLATFORMS), Items("platforms (%s)" % ", ".join(PLATFORMS), PLATFORMS.__contains__, lists=True),
            "The platforms environments may be resolved for, as the reference extension's `CONDA_ALL_ARCHS`. "
            "A request for another one (a step's platform, `--arch`, `METAFLOW_CONDA_REMOTE_ARCH`) is refused "
            "naming this setting, before anything is resolved.", RESOLVING, "linux-64,osx-arm64"),
    Setting("CONDA_SYS_MARKERS", None,
            Json('a JSON object such as \'{"linux-64": {"platform_machine": "x86_64"}}\'', _sys_markers),
            "The reference extension's per-platform environment markers of PyPI requirements "
            "(`{\"<platform>\": {\"<marker>\": \"value\"}}`). Here uv resolves for the target platform itself "
            "(`--python-platform`) and sets `os_name`, `platform_machine`, `platform_system` and `sys_platform` "
            "from it: those can be stated with the value uv gives them; any other marker or value is refused "
            "naming it (uv cannot be told otherwise), so a requirement's markers never silently mean something "
            "else than the setting says.", RESOLVING, '{"linux-64": {"sys_platform": "linux"}}'),
    Setting("CONDA_GLIBC_VERSION", "2.28", Text("a glibc version from 2.5 to 2.99", _version_between((2, 5), (2, 99))),
            "glibc version assumed on Linux targets (virtual package `__glibc`, manylinux wheel tags).",
            RESOLVING, "2.31"),
    Setting("CONDA_OSX_VERSION", None,
            Text("a macOS version from 10.9 to 99.99", _version_between((10, 9), (99, 99)), _with_minor),
            "macOS version assumed on osx targets (virtual package `__osx`, macOS wheel tags), recorded in the "
            "lock's request. Default: the macOS uv assumes for the platform (13.0 for osx-arm64 and osx-64 with "
            "uv 0.13), so a lock takes the wheels `uv pip compile --python-platform` takes. A release whose "
            "wheels need a newer macOS is refused with the value that would take one.", RESOLVING, "14.0"),
    Setting("CONDA_SYS_DEFAULT_PACKAGES", None,
            Json('a JSON object such as \'{"__cuda": "12.4"}\' or \'{"linux-64": {"__glibc": "2.31"}}\'',
                 _sys_packages),
            "Virtual packages every target is resolved against: `{\"__name\": \"version\"}` for every platform "
            "and/or `{\"<platform>\": {\"__name\": \"version\"}}` for one. Names: __cuda, __glibc, __linux, "
            "__osx, __unix, __archspec; a version may carry a build (`12.4=0`). A request's own declarations "
            "(`@sys_packages`, `--sys-pkg`, `sys:`) win for a name, then the platform's entry, then the entries "
            "for every platform; packages a target's OS lacks (`__glibc` on osx) are not applied to it. See "
            "[system-packages.md](system-packages.md).", RESOLVING, '{"linux-64": {"__glibc": "2.31"}}'),
    Setting("CONDA_SYS_DEFAULT_GPU_PACKAGES", '{"__cuda": "12.4"}',
            Json('a JSON object such as \'{"__cuda": "12.4"}\'', _virtual_packages),
            "Virtual packages of a step asking for a GPU (`@resources`, `@kubernetes`, `@batch` or another "
            "decorator of `METAFLOW_CONDA_REMOTE_COMMANDS` with gpu > 0), under the flow's and step's own declarations. The default is a CUDA 12 driver (NVIDIA "
            "driver 550 or newer), which conda-forge's CUDA 12 builds resolve against; `{}` adds nothing.",
            RESOLVING, '{"__cuda": "12.2"}'),
    Setting("CONDA_UPGRADE", "", Items("package names, or :all:", lambda v: v == ":all:" or bool(_NAME.match(v))),
            "A changed request keeps every version its previous lock chose that it still allows (for a flow "
            "step: what that step resolved to last on this machine). `:all:` lets every package move to the "
            "newest allowed, a comma-separated list of package names lets those move; either makes the steps' "
            "environments resolve again even when their request is unchanged. See [versions.md](versions.md).",
            RESOLVING, "numpy,pandas"),
    Setting("CONDA_VERIFY", "0", Flag(),
            "On: flows verify each environment they resolve for a step before any task runs, as "
            "`metaflow environment resolve --verify` does: hydrated in a scratch prefix and each requested "
            "package imported; one that does not import stops the run naming the step. Only environments for "
            "this machine's platform can be verified (the others are reported as not verified); a success is "
            "remembered on this machine.", RESOLVING, "1"),
    Setting("CONDA_UV_EXTRAS", None, Items("extra names", lambda v: bool(_NAME.match(v))),
            "`--environment=uv`: the optional dependencies of the uv project installed with its dependencies, "
            "as `uv sync --extra X` would. See [uv-environment.md](uv-environment.md).", RESOLVING, "gpu,viz"),
    Setting("CONDA_UV_GROUPS", None, Items("dependency group names", lambda v: bool(_NAME.match(v))),
            "`--environment=uv`: the dependency groups of the uv project installed too, as `uv sync --group Y` "
            "would. Unset: uv's default groups other than `dev`, as Metaflow's own uv environment "
            "(`uv sync --no-dev`); `dev` here brings that group back.", RESOLVING, "dev"),

    Setting("CONDA_S3ROOT", None, Text("an s3:// URL", _uri("s3")),
            "Store root on S3. Unset: `conda_env` under `METAFLOW_DATASTORE_SYSROOT_S3`.",
            STORE, "s3://bucket/conda_env"),
    Setting("CONDA_AZUREROOT", None, Text("a container/folder path", _container_path),
            "The same for Azure Blob (`METAFLOW_DATASTORE_SYSROOT_AZURE`).", STORE, "container/conda_env"),
    Setting("CONDA_GSROOT", None, Text("a gs:// URL", _uri("gs")),
            "The same for Google Cloud Storage (`METAFLOW_DATASTORE_SYSROOT_GS`).", STORE, "gs://bucket/conda_env"),
    Setting("CONDA_LOCALROOT", None, Text("an absolute path", _absolute_path),
            "The same for the local datastore (`METAFLOW_DATASTORE_SYSROOT_LOCAL`).", STORE, "/data/conda_env"),
    Setting("CONDA_PACKAGES_DIRNAME", "packages", Text("a folder name (letters, digits, _ . -)", FOLDER_NAME.match),
            "Folder of the packages under the store root.", STORE, "pkgs"),
    Setting("CONDA_ENVS_DIRNAME", "envs", Text("a folder name (letters, digits, _ . -)", FOLDER_NAME.match),
            "Folder of the locks under the store root.", STORE, "locks"),
    Setting("CONDA_IGNORE_CACHING_DATASTORES", "local",
            Items("datastore names (local, s3, azure, gs)", lambda v: bool(_DECORATOR.match(v)), lists=True),
            "Datastores where environments are not published, as the reference extension's "
            "`CONDA_IGNORE_CACHING_DATASTORES`: with one of these, a flow or command keeps its locks and packages "
            "in the local index and cache only (and reuses no one else's). A remote step needs the datastore to "
            "hydrate its environment, so a flow with one is refused on such a datastore, naming this setting. "
            "`[]` publishes on every datastore, the local one included.", STORE, "local,gs"),
    Setting("CONDA_USE_REMOTE_LATEST", ":none:",
            Text(":none:, :any:, or comma-separated user names and :username:", _remote_latest),
            "Reuse environments others resolved for a request unknown locally: `:none:` (resolve again), "
            "`:username:` (my own), `:any:` (anyone's) or a comma-separated list of users.", STORE, ":any:"),
    Setting("CONDA_PREFERRED_FORMAT", None,
            Choice({".conda": ".conda", "conda": ".conda", ".tar.bz2": ".tar.bz2", "tar.bz2": ".tar.bz2",
                    "none": None, "": None}, ".conda, .tar.bz2 or none"),
            "A Conda package only available in the other format is transmuted when published, and both "
            "forms are kept in the store.", STORE, ".conda"),
    Setting("CONDA_STORE_RETRIES", "3", Number(1, 100, whole=True, unit="attempts"),
            "Attempts of our own around each datastore call (on top of the backend's own retries).", STORE, "5"),
    Setting("CONDA_LOCK_TIMEOUT", "3600", Number(0, 7 * 86400),
            "Seconds to wait for another process holding the lock on a prefix being created or on the local "
            "index; `0`: do not wait. The holder may be downloading and installing a large environment for "
            "the first time (several GB of CUDA packages on a slow link take well over ten minutes), and the "
            "waiter would only fail and have to start over, so the default waits an hour, as the reference "
            "extension does. A holder that dies releases its lock at once: a long wait never outlasts a "
            "crash.", STORE, "600"),

    Setting("CONDA_CACHE_DIR", None, Text("an absolute path (~ allowed)", _absolute_path, os.path.expanduser),
            "Local caches (packages, repodata, uv, rattler, prefixes). Read from the process environment only, "
            "on purpose: a path of this machine, while everything in Metaflow's configuration is forwarded to "
            "remote nodes.", MACHINE, "/scratch/metaflow-envs", forwarded=False,
            shown_default="$XDG_CACHE_HOME/metaflow-envs"),
    Setting("DEBUG_CONDA", "0", Flag(), "On: full tracebacks instead of one-line errors.", MACHINE, "1"),
)
BY_NAME: Dict[str, Setting] = {s.name: s for s in SETTINGS}


# ---- reading ---------------------------------------------------------------------------------
_UNSET = object()


def lookup(name: str) -> Any:
    """The raw value of setting `name` (environment, Metaflow's configuration, default), unchecked."""
    setting = BY_NAME[name]
    value = os.environ.get(setting.variable)
    if value is None and setting.forwarded:
        value = _configured(setting.name)
    return setting.default if value is None else value


def read(name: str) -> Any:
    """Setting `name`, checked and parsed (an empty text is the default)."""
    return parse(name, lookup(name))


def parse(name: str, value: Any) -> Any:
    """`value`, a raw value of setting `name` (as `lookup` gives it), checked and parsed."""
    setting = BY_NAME[name]
    if isinstance(value, str) and not value.strip():
        value = setting.default
    if value is None:
        return None
    try:
        return setting.parser(value)
    except Refused as err:
        raise SpecError(refusal(setting, value, err.detail)) from None


def refusal(setting: Setting, value: Any, detail: str = "") -> str:
    """The one message for a bad value."""
    if setting.secret:
        return "%s is not valid: it must be %s (its value is not shown: it holds credentials)." % (
            setting.variable, setting.parser.allowed)  # type: ignore[attr-defined]
    shown = value if isinstance(value, str) else json.dumps(value)
    shown = re.sub(r"://[^/@\s]*@", "://", shown)  # no password of a URL in a message
    if len(shown) > 80:
        shown = shown[:77] + "..."
    return "%s must be %s, not '%s'%s." % (setting.variable, setting.parser.allowed,  # type: ignore[attr-defined]
                                           shown, " (%s)" % detail if detail else "")


def _configured(name: str) -> Any:
    variable = "METAFLOW_" + name
    for config in _config_files():
        if variable in config:
            return config[variable]
    return None


_FILES: Dict[Tuple[str, int, int], Dict[str, Any]] = {}


def _config_files() -> Tuple[Dict[str, Any], ...]:
    """Metaflow's configuration files, in its order (metaflow_config_funcs.from_conf): the
    project's `.metaflow/config.json` (from the working directory up), then the profile."""
    home = os.environ.get("METAFLOW_HOME", "~/.metaflowconfig")
    profile = os.environ.get("METAFLOW_PROFILE")
    path = os.path.expanduser(os.path.join(home, "config_%s.json" % profile if profile else "config.json"))
    if profile and not os.path.exists(path):
        raise SpecError("METAFLOW_PROFILE is '%s' but there is no %s: fix METAFLOW_PROFILE or METAFLOW_HOME."
                        % (profile, path))
    return tuple(_json_file(p) for p in (_project_config(), path) if p)


def _project_config() -> Optional[str]:
    current = os.getcwd()
    while True:
        candidate = os.path.join(current, ".metaflow")
        if os.path.isdir(candidate):
            return os.path.join(os.path.realpath(candidate), "config.json")
        parent = os.path.dirname(current)
        if parent == current:
            return None
        current = parent


def _json_file(path: str) -> Dict[str, Any]:
    try:
        stat = os.stat(path)
    except OSError:
        return {}
    key = (path, stat.st_mtime_ns, stat.st_size)
    if key not in _FILES:
        try:
            with open(path, encoding="utf-8") as handle:
                data = json.load(handle)
        except (OSError, ValueError):
            raise SpecError("The Metaflow configuration %s is not valid JSON: fix it." % path) from None
        _FILES[key] = data if isinstance(data, dict) else {}
    return _FILES[key]


# ---- docs/settings.md ------------------------------------------------------------------------
INTRO = """# Settings

<!-- Generated from metaflow_extensions/envs/plugins/envs/settings_table.py: edit the table, then
run `python -m metaflow_extensions.envs.plugins.envs.settings_table > docs/settings.md`. -->

Every setting is an environment variable, or a key of a Metaflow profile
(`~/.metaflowconfig/config.json`, or `config_<name>.json` with `METAFLOW_PROFILE=<name>`) or of a
project's `.metaflow/config.json`, spelt the same, with its `METAFLOW_` prefix. The environment
wins, then the project, then the profile. Settings marked *forwarded* travel to remote nodes
(`@kubernetes`, `@batch`, Argo, Step Functions) with the steps; the others are read from the
process environment only.

Every value is checked when it is read: one that is not allowed stops the command (or the flow,
before any task) with one message naming the setting, the value and what is allowed.
"""


def markdown() -> str:
    """docs/settings.md."""
    out = [INTRO]
    for section in SECTIONS:
        out.append("## %s\n" % section)
        for setting in (s for s in SETTINGS if s.section == section):
            default = setting.shown_default or setting.default
            out.append("### `%s`\n" % setting.variable)
            out.append("Default: %s. Allowed: %s. %s\n" % (
                "none" if default is None else "empty" if default == "" else "`%s`" % default,
                setting.parser.allowed,  # type: ignore[attr-defined]
                "Forwarded to remote nodes." if setting.forwarded else "Process environment only, not forwarded."))
            out.append("%s\n" % setting.doc)
    return "\n".join(out)


if __name__ == "__main__":
    sys.stdout.write(markdown())
