"""Conda resolution with py-rattler: solve the request for a target platform.

The solver sees only the target's virtual packages (never the host's), so resolving for
linux-64 from a Mac gives the same answer as on the Kubernetes node.
"""
import datetime
import re
from dataclasses import replace
from typing import List, Optional, Sequence
from urllib.parse import urlsplit

from ..auth import Credentials, strip_credentials
from ..errors import ResolveError
from ..kinds import PackageKind
from ..lock import CondaRecordInfo, LockedPackage
from ..layout import CACHE_REPODATA
from ..plumbing.rattler import rattler_client, run_rattler
from ..spec.model import SYS_PACKAGE_NAMES, CondaDep, sys_example
from .. import settings
from .platforms import PlatformInfo


def make_client(credentials: Credentials, channel_urls: Sequence[str]):
    """One rattler Client carrying per-host Basic auth, for repodata and downloads alike."""
    from rattler.networking import AddHeadersMiddleware, RetryMiddleware

    # rattler hands the callback only host and path; match credentials on the channel
    # whose host and path prefix the request falls under, then on the host alone.
    scoped = []
    for url in channel_urls:
        parts = urlsplit(url)
        headers = credentials.headers_for(url)
        if parts.hostname and headers:
            scoped.append((parts.hostname, parts.path.rstrip("/"), headers))
    scoped.sort(key=lambda item: -len(item[1]))
    if not scoped and not credentials.any_known():
        # No Python callback at all: rattler's threads never call into the interpreter (which
        # can abort a process that is shutting down while a request is still in flight).
        return rattler_client([RetryMiddleware(max_retries=3)], ResolveError)

    def add_auth(host: str, path: str):
        for chost, cpath, headers in scoped:
            if chost == host and path.startswith(cpath):
                return headers
        return credentials.headers_for("https://%s/" % host) or None

    return rattler_client([RetryMiddleware(max_retries=3), AddHeadersMiddleware(add_auth)], ResolveError)



def match_spec(dep: CondaDep) -> str:
    """The dep as a MatchSpec, its channel spelled as a full URL: rattler compares channels by
    URL, and a bare name would be expanded with its default alias, not ours."""
    if not dep.channel:
        return dep.match_spec()
    return "%s::%s" % (strip_credentials(settings.channel_urls([dep.channel])[0]), replace(dep, channel=None).match_spec())


def solve(
    specs: Sequence[str],
    channels: Sequence[str],
    target: PlatformInfo,
    credentials: Credentials,
    prefer: Sequence[LockedPackage] = (),
) -> List[LockedPackage]:
    """Solve `specs` (MatchSpec strings) against `channels` for `target`, keeping the
    packages of `prefer` (a previous lock's) where the specs allow."""
    import rattler
    from rattler import Channel, ChannelConfig, Gateway, GenericVirtualPackage

    if not channels:
        raise ResolveError(
            "No Conda channel to resolve from: add `channels=[...]` or set METAFLOW_CONDA_CHANNELS."
        )
    urls = settings.channel_urls(channels)
    config = ChannelConfig(channel_alias=settings.channel_alias())
    client = make_client(credentials, urls)
    gateway = Gateway(
        cache_dir=str(settings.cache_dir(CACHE_REPODATA)), client=client, show_progress=False
    )
    virtual = [
        GenericVirtualPackage(rattler.PackageName(name), rattler.Version(version), rattler.BuildString(build))
        for name, (version, build) in target.virtual_packages().items()
    ]
    sources = [Channel(strip_credentials(u), config) for u in urls]
    platforms = [target.subdir, "noarch"]
    timeout = datetime.timedelta(seconds=settings.value("CONDA_RESOLVE_TIMEOUT"))  # a bad value is not rattler's
    try:
        records = run_rattler(
            rattler.solve(
                sources=sources,
                specs=list(specs),
                gateway=gateway,
                platforms=platforms,
                locked_packages=_records_of(prefer, gateway, sources, platforms),
                virtual_packages=virtual,
                timeout=timeout,
            )
        )
    except Exception as err:  # rattler raises many types; all become one clear message
        raise ResolveError(_explain(err, specs, channels, target, credentials)) from None
    return sorted((to_locked(r) for r in records), key=lambda p: p.name)


def _records_of(packages: Sequence[LockedPackage], gateway, sources, platforms) -> list:
    """The channels' records of `packages` (same file, same sha256): the solver's
    `locked_packages`, which it keeps unless the specs exclude them. A package the channels
    no longer serve is simply not preferred."""
    if not packages:
        return []
    wanted = {(p.filename, p.sha256) for p in packages}
    names = sorted({p.name for p in packages})  # as MatchSpecs: any version
    found = run_rattler(gateway.query(sources, platforms, specs=names, recursive=False))
    return [r for records in found for r in records
            if (r.file_name, r.sha256.hex() if r.sha256 else "") in wanted]


def _explain(err: Exception, specs, channels, target: PlatformInfo, credentials: Credentials) -> str:
    text = credentials.redact(str(err)).strip()
    kind = type(err).__name__
    where = "channels %s for %s" % (", ".join(strip_credentials(c) for c in channels), target.subdir)
    if "401" in text or "403" in text or "Unauthorized" in text or "Forbidden" in text:
        return (
            "Access denied by a Conda channel (%s): check the credentials for its host "
            "(METAFLOW_CONDA_SRCS_AUTH_INFO, user:password@ in the channel URL, or ~/.netrc).\n%s"
            % (where, text)
        )
    if "Fetch" in kind or "error sending request" in text or "connect" in text.lower():
        return "Could not reach a Conda channel (%s): check the channel URL and the network.\n%s" % (
            where,
            text,
        )
    if "Solver" in kind or "Cannot solve" in text or "cannot be installed" in text or "No candidates" in text:
        return "Conda cannot satisfy %s from %s:\n%s%s" % (", ".join(specs), where, text, _virtual_hint(text, target))
    if "MatchSpec" in kind or "Parse" in kind:
        return "Invalid Conda requirement among %s: %s" % (", ".join(specs), text)
    return "Conda resolution failed (%s): %s" % (where, text)


def _virtual_hint(text: str, target: PlatformInfo) -> str:
    """When a virtual package stands in the way (`__cuda`, `__glibc`...), what the target was
    resolved with and the ways to declare what its machines really provide."""
    names = [n for n in SYS_PACKAGE_NAMES if re.search(r"\b%s\b" % n, text)]
    if not names:
        return ""
    provided = target.virtual_packages()
    name, example = names[0], sys_example(names[0])
    hint = (
        "\nThe target (%s) is resolved with %s: declare what the machines running it provide with "
        "@sys_packages(packages={\"%s\": \"%s\"}) on the step (or @sys_packages_base on the flow), "
        "'--sys-pkg %s==%s' in requirements.txt, a 'sys:' section in environment.yml "
        "('sys: [\"%s==%s\"]') or METAFLOW_CONDA_SYS_DEFAULT_PACKAGES"
        % (target.subdir, ", ".join("%s %s" % (n, provided[n][0]) if n in provided else "no %s" % n for n in names),
           name, example, name, example, name, example))
    if name == "__cuda":
        hint += ("; steps asking for a GPU (@resources, @kubernetes or @batch with gpu=) get "
                 "METAFLOW_CONDA_SYS_DEFAULT_GPU_PACKAGES")
    return hint + "."


def to_locked(record) -> LockedPackage:
    noarch = record.noarch
    noarch_name = None
    if noarch is not None and (noarch.python or noarch.generic):
        noarch_name = "python" if noarch.python else "generic"
    timestamp = record.timestamp
    return LockedPackage(
        kind=PackageKind.CONDA,
        name=record.name.normalized,
        version=str(record.version),
        build=str(record.build),
        filename=record.file_name,
        url=strip_credentials(record.url),
        sha256=record.sha256.hex() if record.sha256 else "",
        size=record.size,
        conda=CondaRecordInfo(
            build_number=record.build_number,
            subdir=record.subdir,
            channel=strip_credentials(str(record.channel or "")),
            noarch=noarch_name,
            depends=tuple(record.depends),
            constrains=tuple(record.constrains),
            md5=record.md5.hex() if record.md5 else None,
            license=record.license,
            timestamp=int(timestamp.timestamp() * 1000) if timestamp else None,
        ),
    )


def python_version_of(packages: Sequence[LockedPackage]) -> Optional[str]:
    for pkg in packages:
        if pkg.kind == PackageKind.CONDA and pkg.name == "python":
            return pkg.version
    return None
