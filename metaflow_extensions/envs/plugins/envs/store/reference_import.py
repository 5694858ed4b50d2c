"""Read environments from the reference extension's store into our locks (see
reference_format.py for its layout).

`read_reference_envs` finds the aliases asked for (or every generic alias), reads each
description, brings every package object into our package cache only after its content
matched the hash the reference recorded for it, and returns our lock for each: publishing
and naming them is the caller's (Environments.publish / alias), after all of them are had,
so nothing half-imported is ever visible.
"""
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional, Sequence

from ..errors import EnvError, SpecError
from ..ids import ALIAS_GENERIC, Alias
from ..kinds import PackageKind, PythonSource
from ..lock import CondaRecordInfo, LockedPackage, ResolvedEnvironment, conda_archive_stem
from ..plumbing.cache import PackageCache, digest_of
from ..settings_table import FOLDER_NAME
from .datastore import EnvStore
from .reference_format import (REFERENCE_ENVS_DIRNAMES, ReferenceEnv, ReferencePackage, ReferenceStoreError,
                               alias_from_key_parts, alias_key, description_key, parse_alias_target,
                               parse_description)


@dataclass(frozen=True)
class ImportedEnv:
    alias: Alias
    env: ResolvedEnvironment
    reference_id: str  # req_id:full_id in the reference's store


@dataclass(frozen=True)
class ReferenceImport:
    imported: List[ImportedEnv]
    # Aliases of the store (when all are imported) with no environment for the architecture.
    skipped: List[Alias]


def read_reference_envs(source: EnvStore, cache: PackageCache, arch: str, aliases: Sequence[Alias] = (),
                        envs_dir: Optional[str] = None, local_sources: Sequence[str] = ()) -> ReferenceImport:
    """Our lock for each alias (every generic alias when `aliases` is empty) of the
    reference store `source`, for `arch`, with every package verified into `cache`. An
    alias asked for must have an environment for `arch`; of all aliases, those without one
    are skipped."""
    if envs_dir is not None and not FOLDER_NAME.match(envs_dir):  # shaped as our CONDA_ENVS_DIRNAME
        raise SpecError("Invalid --envs-dirname %r: give the reference's CONDA_ENVS_DIRNAME, a folder name "
                        "(letters, digits, _ . -)." % envs_dir)
    envs_dir = envs_dir or _find_envs_dir(source)
    wanted = list(aliases) or _all_aliases(source, envs_dir)
    if not wanted:
        raise EnvError("No aliases found in the reference's store at %s/%s: pass --alias, or the reference's "
                       "CONDA_ENVS_DIRNAME with --envs-dirname." % (source.root, envs_dir))
    targets = {}
    for alias in wanted:
        key = alias_key(envs_dir, alias)
        text = source.read_text(key)
        if text is None:
            raise EnvError("No alias '%s' in the reference's store at %s (looked for %s)." % (alias, source.root, key))
        targets[alias] = parse_alias_target(text, key)
    converted: Dict[str, ResolvedEnvironment] = {}
    out, skipped = [], []
    for alias, (req_id, full_id) in targets.items():
        ref_id = "%s:%s" % (req_id, full_id)
        if ref_id not in converted:
            key = description_key(envs_dir, arch, req_id, full_id)
            text = source.read_text(key)
            if text is None and not aliases:
                skipped.append(alias)
                continue
            if text is None:
                raise EnvError("The reference alias '%s' names %s, which has no description for %s at %s: import it "
                               "for the architecture it was resolved for (--arch)." % (alias, ref_id, arch, key))
            described = parse_description(text, arch, key, local_sources)
            converted[ref_id] = _to_lock(described, source, cache, key)
        out.append(ImportedEnv(alias, converted[ref_id], ref_id))
    return ReferenceImport(out, skipped)


def _find_envs_dir(source: EnvStore) -> str:
    """The reference's CONDA_ENVS_DIRNAME: the first of the known ones holding aliases."""
    for name in REFERENCE_ENVS_DIRNAMES:
        if source.folder_names("/".join((name, "aliases", ALIAS_GENERIC))):
            return name
    return REFERENCE_ENVS_DIRNAMES[0]


def _all_aliases(source: EnvStore, envs_dir: str) -> List[Alias]:
    """Every generic alias under <envs>/aliases/generic/ (a folder per name part)."""
    found: List[Alias] = []

    def walk(parts: List[str]) -> None:
        prefix = "/".join([envs_dir, "aliases", ALIAS_GENERIC] + parts)
        for tag in source.file_names(prefix):
            alias = alias_from_key_parts(parts + [tag])
            if alias is not None:  # other names are no aliases of ours (and never become keys)
                found.append(alias)
        for folder in source.folder_names(prefix):
            if alias_from_key_parts([folder, "x"]) is not None:
                walk(parts + [folder])

    walk([])
    return found


def _to_lock(described: ReferenceEnv, source: EnvStore, cache: PackageCache, where: str) -> ResolvedEnvironment:
    cached = _fetch_verified(described.packages, source, cache, where)
    packages = tuple(_locked(p, cached[p.object_key], where) for p in described.packages)
    python = next((p.version for p in packages if p.kind == PackageKind.CONDA and p.name == "python"), None)
    if python is None:
        raise ReferenceStoreError("The reference environment %s has no Conda python package: only environments "
                                  "with their own Python can be imported." % where)
    env = ResolvedEnvironment(spec=described.spec, packages=packages, python_version=python,
                              python_source=PythonSource.CONDA, resolved_at=described.resolved_at,
                              resolved_by=described.resolved_by)
    try:  # every field checked as in any lock read back (names, subdirs, md5s, URLs...)
        return ResolvedEnvironment.from_dict(env.to_dict())
    except SpecError as err:
        raise ReferenceStoreError("The reference environment %s cannot be taken as a lock: %s" % (where, err)) from None


def _fetch_verified(packages: Sequence[ReferencePackage], source: EnvStore, cache: PackageCache,
                    where: str) -> Dict[str, Path]:
    """Each package object into the cache, only once its content matches its recorded hash."""
    by_key = {p.object_key: p for p in packages}
    got: Dict[str, Path] = {}
    bad: List[str] = []

    def keep(key: str, local_path: Optional[str]) -> None:
        if local_path is None:
            return
        pkg = by_key[key]
        # Our own copy, checked and cached: the object itself may be a file in the reference's
        # store (a local datastore), which is neither moved nor trusted to stay unchanged.
        with tempfile.TemporaryDirectory(prefix="mfenvs-import-", dir=str(cache.root)) as tmp:
            copy = Path(tmp) / pkg.filename
            shutil.copyfile(local_path, copy)
            found = digest_of(copy, pkg.hash_name)
            if found != pkg.hash:
                bad.append("%s (%s %s recorded, %s found)" % (pkg.filename, pkg.hash_name, pkg.hash, found))
                return
            got[key] = cache.add_file(copy, pkg.kind)

    source.load_objects(list(by_key), keep)
    if bad:
        raise ReferenceStoreError("Refusing to import the reference environment %s: the content of %s does not "
                                  "match the hash the reference recorded for it." % (where, ", ".join(bad)))
    missing = [p.filename for key, p in by_key.items() if key not in got]
    if missing:
        raise ReferenceStoreError("The reference environment %s lists packages its store lacks: %s."
                                  % (where, ", ".join(missing)))
    return got


def _locked(pkg: ReferencePackage, path: Path, where: str) -> LockedPackage:
    sha256 = path.parent.name  # the cache is content-addressed by sha256
    size = path.stat().st_size
    if pkg.kind == PackageKind.PYPI:
        from packaging.utils import InvalidWheelFilename, parse_wheel_filename

        from ..resolve.pypi import _tag_string

        try:
            name, version, _build, _tags = parse_wheel_filename(pkg.filename)
        except InvalidWheelFilename as err:
            raise ReferenceStoreError("The reference environment %s has a wheel with an invalid name: %s"
                                      % (where, err)) from None
        return LockedPackage(kind=PackageKind.PYPI, name=str(name), version=str(version), build=_tag_string(pkg.filename),
                             filename=pkg.filename, url=pkg.url, sha256=sha256, size=size,
                             built_from=pkg.url if pkg.built else None)
    return _locked_conda(pkg, path, sha256, size, where)


def _locked_conda(pkg: ReferencePackage, path: Path, sha256: str, size: int, where: str) -> LockedPackage:
    """A Conda package's record, from its own index.json (what rattler needs to link it)."""
    from rattler.package import IndexJson

    try:
        index = IndexJson.from_package_archive(str(path))
    except Exception as err:
        raise ReferenceStoreError("The package %s of the reference environment %s is not a readable Conda "
                                  "archive: %s" % (pkg.filename, where, err)) from None
    name, version, build = index.name.normalized, str(index.version), str(index.build)
    if conda_archive_stem(pkg.filename) != "%s-%s-%s" % (name, version, build):
        raise ReferenceStoreError("The package %s of the reference environment %s holds %s-%s-%s: its file name "
                                  "and content disagree." % (pkg.filename, where, name, version, build))
    md5 = pkg.hash if pkg.hash_name == "md5" else digest_of(path, "md5")
    channel = pkg.url.rsplit("/", 2)[0] if pkg.url.count("/") >= 4 else ""
    noarch = index.noarch
    noarch_name = "python" if noarch.python else ("generic" if noarch.generic else None)
    timestamp = index.timestamp
    return LockedPackage(
        kind=PackageKind.CONDA, name=name, version=version, build=build, filename=pkg.filename, url=pkg.url,
        sha256=sha256, size=size,
        conda=CondaRecordInfo(
            build_number=index.build_number, subdir=index.subdir or "noarch", channel=channel, noarch=noarch_name,
            depends=tuple(index.depends), constrains=tuple(index.constrains), md5=md5, license=index.license,
            timestamp=int(timestamp.timestamp() * 1000) if timestamp else None,
        ),
    )
