"""What the flow-level `environment resolve|show --output FILE` write: the JSON shape the
reference extension writes there (and its Runner reads back), so scripts and the Runner
(runner.py) read one format.

resolve: {step: {arch: {req_id, full_id, newly_resolved, env}}}, for the steps that have an
environment. show: {step: {is_disabled, error, requested_hash, requested_packages,
requested_sources, from_env_name, is_fetch_at_exec, newly_resolved, env_id, env}}. `env` is
this tool's environment document (`show --json`'s), not the reference's lock format; `env_id`
is [req_id, full_id, arch].
"""
from typing import Any, Dict, List, Optional, Tuple


# One row per step (and arch): (step, ResolvedEnvironment or None, why-none, state).
Row = Tuple[str, Any, str, str]


def resolve_results(docs: List[Dict[str, Any]], rows: List[Row]) -> Dict[str, Any]:
    out: Dict[str, Any] = {}
    for (name, found, _, state), doc in zip(rows, docs):
        if found is not None:
            out.setdefault(name, {})[found.arch] = {
                "req_id": found.req_id, "full_id": found.full_id, "newly_resolved": state == "resolved",
                "env": _env_doc(doc)}
    return out


def show_results(env: Any, docs: List[Dict[str, Any]], rows: List[Row]) -> Dict[str, Any]:
    out: Dict[str, Any] = {}
    for (name, found, _, state), doc in zip(rows, docs):
        request = env.request_for(name)
        disabled = request is None or request.disabled
        spec = None if disabled else request.spec
        out[name] = {
            "is_disabled": disabled,
            "error": None,
            "requested_hash": found.req_id if found is not None else None,
            "requested_packages": _requested_packages(spec),
            "requested_sources": _requested_sources(spec),
            "from_env_name": None if disabled else request.base,
            "is_fetch_at_exec": bool(not disabled and request.fetch_at_exec),
            "newly_resolved": state == "resolved",
            "env_id": [found.req_id, found.full_id, found.arch] if found is not None else None,
            "env": _env_doc(doc) if found is not None else None,
        }
    return out


def _env_doc(doc: Dict[str, Any]) -> Dict[str, Any]:
    return {k: v for k, v in doc.items() if k not in ("step", "state")}


def _requested_packages(spec: Optional[Any]) -> Dict[str, Dict[str, str]]:
    """{kind: {name: constraint}} of what the step asks for (credentials stripped)."""
    if spec is None:
        return {}
    data = spec.to_dict()
    conda = {}
    for dep in spec.conda_deps:
        conda[("%s::%s" % (dep.channel, dep.name)) if dep.channel else dep.name] = dep.version or ""
    if spec.python:
        conda["python"] = spec.python
    # Here, not at the top: flow_cli (which imports this module) is loaded in tasks too, whose
    # environment need not hold `packaging`.
    from packaging.requirements import InvalidRequirement, Requirement

    pypi = {}
    for text in data.get("pypi", ()):
        try:
            req = Requirement(text)
            pypi[req.name + ("[%s]" % ",".join(sorted(req.extras)) if req.extras else "")] = (
                "@" + req.url if req.url else str(req.specifier))
        except InvalidRequirement:  # a bare URL or path: its name is known once built
            pypi[text] = ""
    out = {"conda": conda, "pypi": pypi}
    if data.get("sys"):
        out["sys"] = dict(data["sys"])
    return {kind: deps for kind, deps in out.items() if deps}


def _requested_sources(spec: Optional[Any]) -> Dict[str, List[str]]:
    if spec is None:
        return {}
    data = spec.to_dict()
    src = data.get("pypi_sources") or {}
    pypi = ([src["index_url"]] if src.get("index_url") else []) + list(src.get("extra_index_urls") or ())
    out = {"conda": list(data.get("channels") or ()), "pypi": pypi}
    return {kind: sources for kind, sources in out.items() if sources}
