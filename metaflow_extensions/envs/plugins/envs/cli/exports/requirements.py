"""requirements.txt with hashes: every PyPI package of the lock pinned to its version and
the sha256 of the exact wheel, for `pip install --no-deps --require-hashes -r`."""
from ...auth import strip_credentials
from ...lock import ResolvedEnvironment
from . import Export, nothing_to_export
from .pypi_common import split_pypi


def render(env: ResolvedEnvironment, name: str = "") -> Export:
    wheels, omitted = split_pypi(env)
    if not wheels:
        raise nothing_to_export(env, "requirements", "PyPI packages", "explicit or environment-yml")
    src = env.spec.pypi_sources
    lines = [
        "# Environment %s (%s:%s, %s, Python %s), exported by metaflow-envs."
        % (name or env.full_id, env.req_id, env.full_id, env.arch, env.python_version),
        "# Install into a Python %s with: pip install --no-deps --require-hashes -r <this file>"
        % env.python_version,
    ]
    lines += ["# Not listed: %s" % o for o in omitted]
    if src.no_index:
        lines.append("--no-index")
    if src.index_url:
        lines.append("--index-url %s" % strip_credentials(src.index_url))
    lines += ["--extra-index-url %s" % strip_credentials(u) for u in src.extra_index_urls]
    lines += ["--find-links %s" % strip_credentials(u) for u in src.find_links]
    lines += ["--trusted-host %s" % h for h in src.trusted_hosts]
    for pkg in wheels:
        lines.append("%s==%s \\\n    --hash=sha256:%s" % (pkg.name, pkg.version, pkg.sha256))
    return Export("\n".join(lines) + "\n", omitted)
