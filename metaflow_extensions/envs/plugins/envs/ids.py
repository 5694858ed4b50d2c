"""Environment identities: `EnvID` and its text form `req_id:full_id:arch`.

Pure and validated on construction, whatever the source (a command line, an alias read from
a datastore, a lock, the local index): ids become paths and datastore keys, so a value such
as `../x` must never get that far.
"""
import re
from dataclasses import dataclass
from typing import Any, Dict

from .errors import SpecError
from .spec.model import CONDA_PLATFORMS

_HEX40 = re.compile(r"^[0-9a-f]{40}$")


def is_hex_id(value: Any) -> bool:
    """A req_id or full_id: a sha1 as 40 lowercase hex digits."""
    return isinstance(value, str) and bool(_HEX40.match(value))


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
