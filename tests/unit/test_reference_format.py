"""store/reference_format.py: the reference extension's stored descriptions and aliases,
read as untrusted data (the end-to-end import is tests/e2e/test_import_reference.py)."""
import json

import pytest

from metaflow_extensions.envs.plugins.envs.errors import SpecError
from metaflow_extensions.envs.plugins.envs.store.reference_format import (alias_from_key_parts, alias_key,
                                                                           parse_alias_target, parse_description)

MD5 = "0" * 31 + "1"
SHA = "a" * 64
REQ, FULL = "1" * 40, "2" * 40


def _conda(**changes):
    entry = {"_type": "conda", "filename": "tinyutil-1.1.0-0", "url": "https://x.org/cf/noarch/tinyutil-1.1.0-0.conda",
             "url_format": ".conda", "hashes": {".conda": MD5},
             "cache_info": {".conda": {"_type": "conda", "url": "packages-1/conda/x.org/cf/noarch/"
                                                             "tinyutil-1.1.0-0.conda/tinyutil-1.1.0-0.conda/%s/"
                                                             "tinyutil-1.1.0-0.conda" % MD5}}}
    entry.update(changes)
    return entry


def _description(*packages, **changes):
    data = {"deps": ["conda::python==3.11.7", "conda::numpy==>=1.2", "pip::six==1.16.0"],
            "sources": ["conda::conda-forge", "pypi::https://pypi.org/simple"], "extras": [],
            "packages": list(packages) or [_conda()], "resolved_on": "2025-06-01T00:00:00", "resolved_by": "me",
            "resolved_archs": ["linux-64"], "env_type": "mixed"}
    data.update(changes)
    return json.dumps(data)


def test_a_description_becomes_our_request_and_packages():
    wheel = {"_type": "pip", "filename": "six-1.16.0-py2.py3-none-any", "url": "https://_fake/github.com/six/six@1",
             "url_format": ".tar.gz", "hashes": {".whl": SHA},
             "cache_info": {".whl": {"_type": "pypi", "url": "packages-1/pypi/_fake/github.com/six/six@1/"
                                                            "six-1.16.0-py2.py3-none-any.whl/%s/"
                                                            "six-1.16.0-py2.py3-none-any.whl" % SHA}}}
    env = parse_description(_description(_conda(), wheel), "linux-64", "where")
    assert env.spec.python == "==3.11.7"
    assert [d.name for d in env.spec.conda_deps] == ["numpy"]  # `numpy==>=1.2` is `numpy>=1.2`
    assert [d.name for d in env.spec.pypi_deps] == ["six"]  # legacy `pip::`
    assert env.spec.channels == ("conda-forge",) and env.spec.pypi_sources.index_url == "https://pypi.org/simple"
    conda, built = env.packages
    assert (conda.filename, conda.hash_name, conda.built) == ("tinyutil-1.1.0-0.conda", "md5", False)
    # a wheel built from a source: its stored wheel is taken, its fake URL never fetched
    assert (built.filename, built.hash_name, built.built) == ("six-1.16.0-py2.py3-none-any.whl", "sha256", True)


@pytest.mark.parametrize("changes, message", [
    ({"filename": "../x"}, "not a plain file name"),
    ({"hashes": {".conda": "nothex"}}, "no valid md5 or sha256"),
    ({"cache_info": {}}, "no stored .conda/.tar.bz2 archive"),
    ({"cache_info": {".conda": {"url": "packages-1/conda/../../../etc/%s/tinyutil-1.1.0-0.conda" % MD5}}},
     "not a package key"),
    ({"cache_info": {".conda": {"url": "/abs/conda/x/%s/tinyutil-1.1.0-0.conda" % MD5}}}, "not a package key"),
    ({"cache_info": {".conda": {"url": "packages-1/pypi/x/%s/tinyutil-1.1.0-0.conda" % MD5}}}, "not a package key"),
    ({"url": "ftp://x.org/tinyutil-1.1.0-0.conda"}, "only http, https and file URLs"),
    ({"url": "ftp://me:secret@x.org/t.conda"}, r"URL 'ftp://x.org/t.conda': only"),  # no credentials shown
    ({"url": "file:///etc/tinyutil-1.1.0-0.conda"}, "outside the local channels configured here"),
    ({"_type": "npm"}, "no valid type"),
])
def test_hostile_entries_are_refused_by_name(changes, message):
    with pytest.raises(SpecError, match=message):
        parse_description(_description(_conda(**changes)), "linux-64", "where")


def test_file_urls_inside_a_local_channel_are_allowed(tmp_path):
    url = (tmp_path / "cf" / "noarch" / "tinyutil-1.1.0-0.conda").as_uri()
    env = parse_description(_description(_conda(url=url)), "linux-64", "where", local_sources=[str(tmp_path)])
    assert env.packages[0].url == url


def test_aliases_in_the_reference_layout():
    alias = alias_from_key_parts(["team", "serving", "v1"])
    assert str(alias) == "team/serving:v1"
    assert alias_key("envs-1", alias) == "envs-1/aliases/generic/team/serving/v1"
    assert alias_from_key_parts(["..", "v1"]) is None and alias_from_key_parts(["v1"]) is None
    assert parse_alias_target(json.dumps([REQ, FULL]), "k") == (REQ, FULL)
    for bad in ("not json", json.dumps(["../x", FULL]), json.dumps({"req_id": REQ})):
        with pytest.raises(SpecError):
            parse_alias_target(bad, "k")
