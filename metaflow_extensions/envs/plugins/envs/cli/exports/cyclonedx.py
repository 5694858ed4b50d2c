"""A CycloneDX 1.5 JSON SBOM: one component per package with its purl (`pkg:pypi/...`,
`pkg:conda/...`), sha256 (and md5 for Conda), license when known and download URL.
Deterministic: the serial number derives from the environment's full_id.

Licenses: a Conda record carries one; a wheel's is read from its own metadata (PEP 639
`License-Expression`, else `License`, else the `License ::` classifiers) when the wheel is in
the local package cache (nothing is downloaded to export)."""
import datetime
import json
import uuid
import zipfile
from typing import Any, Dict, List
from urllib.parse import quote

from ...auth import strip_credentials
from ...kinds import PackageKind
from ...lock import LockedPackage, ResolvedEnvironment
from . import Export
from .environment_yml import channel_label

_NAMESPACE = uuid.UUID("6f1b7a62-3c0e-4d55-9a3e-5b0e2f6c1d10")


def purl(pkg: LockedPackage) -> str:
    if pkg.kind == PackageKind.PYPI:
        return "pkg:pypi/%s@%s" % (quote(pkg.name.lower().replace("_", "-")), quote(pkg.version))
    info = pkg.conda
    qualifiers = {"build": pkg.build, "type": "conda" if pkg.filename.endswith(".conda") else "tar.bz2"}
    if info is not None:
        qualifiers["subdir"] = info.subdir
        if info.channel:
            qualifiers["channel"] = channel_label(info.channel)
    text = "&".join("%s=%s" % (k, quote(v, safe="")) for k, v in sorted(qualifiers.items()))
    return "pkg:conda/%s@%s?%s" % (quote(pkg.name), quote(pkg.version), text)


def _component(pkg: LockedPackage) -> Dict[str, Any]:
    ref = purl(pkg)
    hashes = [{"alg": "SHA-256", "content": pkg.sha256}]
    if pkg.conda is not None and pkg.conda.md5:
        hashes.append({"alg": "MD5", "content": pkg.conda.md5})
    out: Dict[str, Any] = {
        "type": "library", "bom-ref": ref, "name": pkg.name, "version": pkg.version, "purl": ref,
        "hashes": hashes,
        "externalReferences": [{"type": "distribution", "url": strip_credentials(pkg.url)}],
        "properties": [{"name": "metaflow-envs:kind", "value": pkg.kind},
                       {"name": "metaflow-envs:filename", "value": pkg.filename}],
    }
    if pkg.conda is not None and pkg.conda.license:
        out["licenses"] = [{"license": {"name": pkg.conda.license}}]
    elif pkg.kind == PackageKind.PYPI:
        out.update(_wheel_licenses(pkg))
    return out


def _wheel_licenses(pkg: LockedPackage) -> Dict[str, Any]:
    from email.parser import HeaderParser

    from ...plumbing.cache import PackageCache

    wheel = PackageCache().path_for(pkg)
    try:
        with zipfile.ZipFile(wheel) as archive:
            name = next(n for n in archive.namelist() if n.count("/") == 1 and n.endswith(".dist-info/METADATA"))
            metadata = HeaderParser().parsestr(archive.read(name).decode("utf-8", "replace"))
    except (OSError, zipfile.BadZipFile, StopIteration):
        return {}  # not cached here, or not a wheel we can read: the license stays unknown
    if metadata.get("License-Expression"):
        return {"licenses": [{"expression": metadata["License-Expression"].strip()}]}
    text = (metadata.get("License") or "").strip()
    if text and "\n" not in text and len(text) <= 100:
        return {"licenses": [{"license": {"name": text}}]}
    names = [c.split("::")[-1].strip() for c in metadata.get_all("Classifier") or [] if c.startswith("License ::")]
    return {"licenses": [{"license": {"name": n}} for n in names]} if names else {}


def render(env: ResolvedEnvironment, name: str = "") -> Export:
    components: List[Dict[str, Any]] = [_component(p) for p in sorted(env.packages, key=lambda p: (p.kind, p.name))]
    when = datetime.datetime.fromtimestamp(env.resolved_at or 0, tz=datetime.timezone.utc)
    bom = {
        "$schema": "http://cyclonedx.org/schema/bom-1.5.schema.json",
        "bomFormat": "CycloneDX",
        "specVersion": "1.5",
        "serialNumber": "urn:uuid:%s" % uuid.uuid5(_NAMESPACE, env.full_id),
        "version": 1,
        "metadata": {
            "timestamp": when.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "tools": {"components": [{"type": "application", "name": "metaflow-envs"}]},
            "component": {
                "type": "application", "bom-ref": "env:%s:%s" % (env.req_id, env.full_id),
                "name": name or env.full_id, "version": env.full_id,
                "properties": [{"name": "metaflow-envs:arch", "value": env.arch},
                               {"name": "metaflow-envs:type", "value": env.env_type},
                               {"name": "metaflow-envs:python", "value": env.python_version}],
            },
        },
        "components": components,
        "dependencies": [{"ref": "env:%s:%s" % (env.req_id, env.full_id),
                          "dependsOn": [c["bom-ref"] for c in components]}],
    }
    return Export(json.dumps(bom, indent=2) + "\n")
