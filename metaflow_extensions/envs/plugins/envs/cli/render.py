"""Human-readable `show`: what an environment is, where it came from, what it holds."""
import time
from typing import Any, Dict, List

from ..auth import strip_credentials
from ..spec.model import DEFAULT_INDEX


def _when(epoch: float) -> str:
    if not epoch:
        return "unknown time"
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(epoch))


def requested_lines(spec: Dict[str, Any]) -> List[str]:
    out = []
    if spec.get("python"):
        out.append("python %s" % spec["python"])
    out += ["conda: %s" % d for d in spec.get("conda", [])]
    out += ["pypi: %s" % d for d in spec.get("pypi", [])]
    # what the target was resolved against (an osx target's macOS, always)
    out += ["system: %s==%s" % item for item in sorted((spec.get("sys") or {}).items())]
    out += ["pypi constraint: %s" % d for d in spec.get("pypi_constraints", [])]
    return out


_STRATEGY_MEANING = {"unsafe-best-match": "as pip does", "first-index": "as uv does",
                     "unsafe-first-match": "in order, first match"}


def source_lines(doc: Dict[str, Any]) -> List[str]:
    spec = doc["requested"]
    out = ["conda: %s" % c for c in spec.get("channels", [])]
    if doc["type"] != "conda-only":
        src = spec.get("pypi_sources") or {}
        if src.get("no_index"):
            out.append("pypi: (no index)")
        else:
            out.append("pypi: %s" % (src.get("index_url") or DEFAULT_INDEX + " (default)"))
        out += ["pypi: %s (extra)" % u for u in src.get("extra_index_urls", [])]
        out += ["pypi: %s (find-links)" % u for u in src.get("find_links", [])]
        if src.get("index_strategy"):
            out.append("pypi: indexes searched %s (%s)" % (
                _STRATEGY_MEANING.get(src["index_strategy"], ""), src["index_strategy"]))
        out += ["pypi: no binary for %s" % n for n in src.get("no_binary", [])]
        out += ["pypi: only binary for %s" % n for n in src.get("only_binary", [])]
    return [strip_credentials(s) for s in out]


def render(doc: Dict[str, Any], title: str = "") -> str:
    """`doc` is an env_document (see document.py)."""
    env_id = doc["env_id"]
    default = " (default for its request)" if doc.get("is_default") else ""
    lines = ["Environment %s%s" % (title or env_id["full_id"], default)]
    fields = [
        ("type", doc["type"]),
        ("full id", "%s:%s" % (env_id["req_id"], env_id["full_id"])),
        ("arch", env_id["arch"]),
        ("python", "%s (from %s)" % (doc["python"] or "?", doc.get("python_source", "conda"))),
        ("resolved", "on %s by %s" % (_when(doc.get("resolved_at", 0)), doc.get("resolved_by", "unknown"))),
        ("aliases", ", ".join(doc.get("aliases") or []) or "(none known locally)"),
        ("present as", ", ".join(doc.get("local_prefixes") or []) or "(not created on this machine)"),
    ]
    width = max(len(k) for k, _ in fields + [("requested", ""), ("sources", "")])
    for key, value in fields:
        lines.append("  %-*s  %s" % (width, key, value))
    for key, values in (("requested", requested_lines(doc["requested"])), ("sources", source_lines(doc))):
        values = values or ["(none)"]
        lines.append("  %-*s  %s" % (width, key, values[0]))
        lines += ["  %-*s  %s" % (width, "", v) for v in values[1:]]
    packages = sorted(doc["packages"], key=lambda p: (p["kind"], p["name"]))
    lines.append("  packages (%d)" % len(packages))
    if packages:
        name_w = max(len(p["name"]) for p in packages)
        ver_w = max(len(p["version"]) for p in packages)
        for pkg in packages:
            lines.append("    %-5s  %-*s  %-*s  %s" % (pkg["kind"], name_w, pkg["name"], ver_w, pkg["version"],
                                                 pkg.get("build", "")))
    return "\n".join(lines)
