"""A Conda explicit file (`conda create --file`): `@EXPLICIT`, then one package URL per
line with its hash (`#md5` when the channel gave one, else the 64-hex sha256 that conda
>= 24.9 accepts)."""
from ...auth import strip_credentials
from ...kinds import PackageKind
from ...lock import ResolvedEnvironment
from . import Export, nothing_to_export


def render(env: ResolvedEnvironment, name: str = "") -> Export:
    conda = [p for p in env.packages if p.kind == PackageKind.CONDA]
    omitted = ["pypi %s==%s (a PyPI package)" % (p.name, p.version)
               for p in sorted(env.packages, key=lambda p: p.name) if p.kind != PackageKind.CONDA]
    if not conda:
        raise nothing_to_export(env, "explicit", "Conda packages", "requirements or pylock")
    lines = [
        "# Environment %s (%s:%s), exported by metaflow-envs." % (name or env.full_id, env.req_id, env.full_id),
        "# created-by: metaflow-envs",
        "# Create it with: conda create --name <env> --file <this file>",
    ]
    lines += ["# Not listed: %s" % o for o in omitted]
    lines += ["# platform: %s" % env.arch, "@EXPLICIT"]
    for pkg in conda:
        digest = pkg.conda.md5 if pkg.conda is not None and pkg.conda.md5 else pkg.sha256
        lines.append("%s#%s" % (strip_credentials(pkg.url), digest))
    return Export("\n".join(lines) + "\n", omitted)
