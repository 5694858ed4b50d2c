"""environment.yml: every Conda package pinned to `name=version=build`, the PyPI packages
pinned in a `pip:` section (with the indexes they came from)."""
import re
from typing import Any, Dict, List

import yaml

from ... import settings
from ...auth import strip_credentials
from ...kinds import PackageKind, PythonSource
from ...lock import ResolvedEnvironment
from . import Export


def channel_label(url: str) -> str:
    """A channel as the user named it: `conda-forge` when it sits under the channel alias."""
    url = strip_credentials(url).rstrip("/")
    alias = settings.channel_alias()
    return url[len(alias):] if url.startswith(alias) else url


def render(env: ResolvedEnvironment, name: str = "") -> Export:
    conda = [p for p in env.packages if p.kind == PackageKind.CONDA]
    pypi = [p for p in env.packages if p.kind == PackageKind.PYPI]
    channels: List[str] = [strip_credentials(c) for c in env.spec.channels]
    for pkg in conda:
        if pkg.conda is not None and pkg.conda.channel:
            label = channel_label(pkg.conda.channel)
            if label not in channels:
                channels.append(label)
    deps: List[Any] = ["%s=%s=%s" % (p.name, p.version, p.build) for p in sorted(conda, key=lambda p: p.name)]
    omitted = []
    if not conda:  # Python from the system: name its version at least
        deps.append("python=%s" % env.python_version)
    if pypi:
        # conda needs pip to install the pip: section; not with a Python of the system, which
        # a Conda pip would replace (conda adds one itself, and this tool reads the file back
        # as the same request)
        if env.python_source != PythonSource.SYSTEM and not any(p.name == "pip" for p in conda):
            deps.append("pip")
        src = env.spec.pypi_sources
        pip: List[str] = []
        if src.index_url:
            pip.append("--index-url %s" % strip_credentials(src.index_url))
        pip += ["--extra-index-url %s" % strip_credentials(u) for u in src.extra_index_urls]
        pip += ["--find-links %s" % strip_credentials(u) for u in src.find_links]
        for pkg in sorted(pypi, key=lambda p: p.name):
            if pkg.built_from:
                pip.append("%s @ %s" % (pkg.name, pkg.built_from))
            else:
                pip.append("%s==%s" % (pkg.name, pkg.version))
        deps.append({"pip": pip})
    env_name = re.sub(r"[^A-Za-z0-9_.-]+", "-", name).strip("-") if name else "mf-%s" % env.full_id[:12]
    doc: Dict[str, Any] = {"name": env_name, "channels": channels, "dependencies": deps}
    header = "# Environment %s (%s:%s, %s), exported by metaflow-envs.\n" % (
        name or env.full_id, env.req_id, env.full_id, env.arch)
    return Export(header + yaml.safe_dump(doc, sort_keys=False, default_flow_style=False), omitted)
