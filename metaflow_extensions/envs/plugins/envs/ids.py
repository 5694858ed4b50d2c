"""Names of environments, in one home: `EnvID` and its text form `req_id:full_id:arch`;
aliases (`name[:tag]`) and pathspecs (`Flow/run/step[/task]`); `@{VAR}` in names.

Pure (standard library only, no I/O): the command lines, the flow integration and the bare
remote node's bootstrap all import it. Everything is validated on construction, whatever the
source (a command line, an alias read from a datastore, a lock, the local index): ids and
names become paths and datastore keys, so a value such as `../x` must never get that far.
Tags `latest`, `candidate` and `stable` are mutable (always re-read from the datastore);
every other alias is immutable once written.
"""
import re
from dataclasses import dataclass
from typing import Any, Dict, List, Mapping, Optional, Sequence

from .errors import SpecError
from .layout import alias_key

# Platforms we resolve for, in conda's naming.
CONDA_PLATFORMS = ("linux-64", "linux-aarch64", "osx-64", "osx-arm64")

MUTABLE_TAGS = frozenset({"latest", "candidate", "stable"})
DEFAULT_TAG = "latest"
ALIAS_GENERIC = "generic"
ALIAS_PATHSPEC = "pathspec"

_HEX40 = re.compile(r"^[0-9a-f]{40}$")
_NAME_PART = re.compile(r"^[a-z0-9_-]+$")
_TAG = re.compile(r"^[a-z0-9_.-]+$")
_FLOW = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_PATHSPEC_PART = re.compile(r"^[A-Za-z0-9_.-]+$")
_VAR = re.compile(r"@\{([^}]*)\}")
_VAR_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# Aliases become datastore keys and, on a local datastore, file names: `<last part>:<tag>` is
# one name there, and file systems allow 255 bytes per name.
MAX_NAME_PART = 100
MAX_TAG = 100
MAX_NAME = 200
MAX_PATHSPEC_PART = 200


def is_hex_id(value: Any) -> bool:
    """A req_id or full_id: a sha1 as 40 lowercase hex digits."""
    return isinstance(value, str) and bool(_HEX40.match(value))


def is_tag(value: Any) -> bool:
    """The tag of an alias (`v1`, `stable`)."""
    return isinstance(value, str) and bool(_TAG.match(value)) and value not in (".", "..")


def is_flow_name(value: Any) -> bool:
    """A flow's class name, as the first part of a pathspec."""
    return isinstance(value, str) and bool(_FLOW.match(value))


@dataclass(frozen=True)
class EnvID:
    req_id: str
    full_id: str
    arch: str

    def __post_init__(self) -> None:
        for label, value in (("req_id", self.req_id), ("full_id", self.full_id)):
            if not is_hex_id(value):
                raise SpecError("Invalid environment %s %r: expected 40 lowercase hex digits." % (label, value))
        if self.arch not in CONDA_PLATFORMS:
            raise SpecError("Invalid environment architecture %r: expected one of %s."
                            % (self.arch, ", ".join(CONDA_PLATFORMS)))

    def __str__(self) -> str:
        return "%s:%s:%s" % (self.req_id, self.full_id, self.arch)

    @classmethod
    def parse(cls, text: str) -> "EnvID":
        parts = (text or "").split(":")
        if len(parts) != 3:
            raise SpecError("Invalid environment id %r: expected req_id:full_id:arch." % text)
        return cls(*parts)

    def to_dict(self) -> Dict[str, str]:
        return {"req_id": self.req_id, "full_id": self.full_id, "arch": self.arch}

    @classmethod
    def from_dict(cls, data: Any) -> "EnvID":
        try:
            return cls(data["req_id"], data["full_id"], data["arch"])
        except (KeyError, TypeError):
            raise SpecError("Invalid environment id %r: expected req_id, full_id and arch." % (data,)) from None

    @classmethod
    def of(cls, env: Any) -> "EnvID":
        """The id of a ResolvedEnvironment."""
        return cls(env.req_id, env.full_id, env.arch)


# --------------------------------------------------------------------------------------
# Aliases and pathspecs


@dataclass(frozen=True)
class Alias:
    """A generic alias (`team/env:stable`) or a pathspec (`MyFlow/42/train`)."""

    kind: str  # ALIAS_GENERIC | ALIAS_PATHSPEC
    name: str  # for a pathspec: Flow/run/step (the task part is dropped: a step has one env)
    tag: str = ""

    @property
    def is_mutable(self) -> bool:
        return self.kind == ALIAS_GENERIC and self.tag in MUTABLE_TAGS

    @property
    def key(self) -> str:
        """Where the alias lives in a datastore (and in the local index)."""
        if self.kind == ALIAS_PATHSPEC:
            return alias_key(ALIAS_PATHSPEC, self.name)
        return alias_key(ALIAS_GENERIC, "%s:%s" % (self.name, self.tag))

    def __str__(self) -> str:
        return self.name if self.kind == ALIAS_PATHSPEC else "%s:%s" % (self.name, self.tag)


def parse_alias(text: str, kind: Optional[str] = None) -> Alias:
    """Parse and validate. `kind` forces "pathspec" or "generic"; otherwise 3-4 parts with a
    Flow name first and no tag are a pathspec when the flow name has capitals or the run id is
    numeric (generic names are lowercase only)."""
    raw = (text or "").strip()
    if not raw:
        raise SpecError("Empty environment name: use 'name[:tag]' or 'Flow/run/step'.")
    parts = raw.split("/")
    looks_like_pathspec = (
        ":" not in raw and len(parts) in (3, 4) and bool(_FLOW.match(parts[0]))
        and (not _NAME_PART.match(parts[0]) or parts[1].isdigit())
    )
    if kind == ALIAS_PATHSPEC or (kind is None and looks_like_pathspec):
        return _pathspec(raw, parts)
    name, _, tag = raw.partition(":")
    tag = tag or DEFAULT_TAG
    bad = [p for p in name.split("/") if not _NAME_PART.match(p)]
    if bad or not _TAG.match(tag) or tag in (".", ".."):
        raise SpecError(
            "Invalid environment name '%s': use 'name[:tag]' where name is '/'-separated parts of "
            "lowercase letters, digits, '_' and '-', and tag uses lowercase letters, digits, "
            "'_', '.' and '-' (e.g. 'team/env:stable')." % raw
        )
    longest = max(name.split("/"), key=len)
    if len(name) > MAX_NAME or len(longest) > MAX_NAME_PART or len(tag) > MAX_TAG:
        raise SpecError(
            "Environment name '%s...' is too long: a name may have at most %d characters, each "
            "'/'-separated part at most %d, and a tag at most %d." % (raw[:40], MAX_NAME, MAX_NAME_PART, MAX_TAG))
    return Alias(ALIAS_GENERIC, name, tag)


def _pathspec(raw: str, parts: Sequence[str]) -> Alias:
    if (len(parts) not in (3, 4) or not _FLOW.match(parts[0])
            or any(not _PATHSPEC_PART.match(p) or p in (".", "..") for p in parts[1:])):
        raise SpecError("Invalid pathspec '%s': use 'Flow/run_id/step' or 'Flow/run_id/step/task_id'." % raw)
    if any(len(p) > MAX_PATHSPEC_PART for p in parts):
        raise SpecError("Pathspec '%s...' is too long: each '/'-separated part may have at most %d characters."
                        % (raw[:40], MAX_PATHSPEC_PART))
    return Alias(ALIAS_PATHSPEC, "/".join(parts[:3]))


def pathspec_alias(flow: str, run_id: str, step: str) -> Alias:
    """`Flow/run/step`: the name of the environment a step ran in."""
    return parse_alias("%s/%s/%s" % (flow, run_id, step), kind=ALIAS_PATHSPEC)


# --------------------------------------------------------------------------------------
# @{VAR} in names and pathspecs

RUNTIME_VARIABLES = ("METAFLOW_RUN_ID", "METAFLOW_STEP_NAME", "METAFLOW_TASK_ID")


def variables_in(text: str) -> List[str]:
    """The `@{VAR}` names in `text`, in order; a malformed `@{...}` is a SpecError."""
    names = []
    for match in _VAR.finditer(text):
        if not _VAR_NAME.match(match.group(1)):
            raise SpecError("'%s' in '%s' is not a variable: write '@{NAME}' with NAME made of "
                            "letters, digits and '_'." % (match.group(0), text))
        names.append(match.group(1))
    if "@{" in _VAR.sub("", text):
        raise SpecError("'%s' has an unclosed '@{': write '@{NAME}'." % text)
    return names


def check_alias_template(text: str, kind: str) -> None:
    """A name that may hold `@{VAR}` (known only when the task starts): its variables are
    well formed and, with a placeholder in their place, it has the shape of `kind`."""
    variables_in(text)
    parse_alias(_VAR.sub("x", text), kind=kind)


def substitute_vars(text: str, env: Mapping[str, str]) -> str:
    """Replace every `@{VAR}` by `env[VAR]`. `env` is what the task can see: the process
    environment plus METAFLOW_RUN_ID, METAFLOW_STEP_NAME, METAFLOW_TASK_ID and
    METAFLOW_INIT_<PARAM> for the flow's parameters."""
    missing = [name for name in variables_in(text) if name not in env]
    if missing:
        known = sorted(k for k in env if k in RUNTIME_VARIABLES or k.startswith("METAFLOW_INIT_"))
        raise SpecError(
            "Unknown variable %s in '%s': use an environment variable of the process, or one "
            "of METAFLOW_RUN_ID, METAFLOW_STEP_NAME, METAFLOW_TASK_ID, METAFLOW_INIT_<PARAM> "
            "(a flow parameter in capitals, e.g. METAFLOW_INIT_ALPHA)%s."
            % (", ".join("'%s'" % m for m in dict.fromkeys(missing)), text,
               "; available now: %s" % ", ".join(known) if known else ""))
    return _VAR.sub(lambda m: env[m.group(1)], text)
