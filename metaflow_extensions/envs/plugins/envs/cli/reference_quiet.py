"""The one-line description of an environment the reference extension prints with `--quiet`
(and writes to `--quiet-file-output`), which scripts written for it parse, e.g. the ids as its
first two words:

    req_id full_id aliases arch resolved_on resolved_by archs requested sources conda:PKGS pip:PKGS present_as

Lists are comma-separated; an empty one is NONE where the reference writes NONE (sources,
present_as) and empty elsewhere.
"""
import time
from typing import Any, Dict

from .render import requested_lines, source_lines


def quiet_line(doc: Dict[str, Any]) -> str:
    """`doc` is an env_document (document.py)."""
    env_id = doc["env_id"]
    packages = doc.get("packages") or []

    def pkgs(kind: str) -> str:
        return ",".join("%s==%s" % (p["name"], p["version"]) for p in sorted(packages, key=lambda p: p["name"])
                        if p["kind"] == kind)

    def joined(items) -> str:
        # words are split on spaces: none inside an item
        return ",".join(str(i).replace(" ", "") for i in items)

    return " ".join([
        env_id["req_id"], env_id["full_id"], joined(doc.get("aliases") or []), env_id["arch"],
        time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(doc.get("resolved_at") or 0)),
        str(doc.get("resolved_by") or "unknown").replace(" ", "_"), env_id["arch"],
        joined(requested_lines(doc["requested"])), joined(source_lines(doc)) or "NONE",
        "conda:" + pkgs("conda"), "pip:" + pkgs("pypi"), joined(doc.get("local_prefixes") or []) or "NONE",
    ])
