"""pip's hash-checking mode against the local index: a file whose sha256 is not listed is
refused, naming the package, before anything is installed or built."""
import hashlib

import pytest

from metaflow_extensions.envs.plugins.envs.auth import Credentials
from metaflow_extensions.envs.plugins.envs.errors import ResolveError
from metaflow_extensions.envs.plugins.envs.resolve.resolver import resolve_environment
from metaflow_extensions.envs.plugins.envs.spec.requirements_txt import parse_text

WRONG = "0" * 64


@pytest.fixture
def hashed_resolve(engine_settings, monkeypatch, pypi_index_server):
    """Resolve requirements.txt text against the local index (PyPI stays the default index:
    building the sdist needs setuptools), on this machine's Python."""
    monkeypatch.setenv("METAFLOW_CONDA_PYTHON_SOURCE", "system")
    index = pypi_index_server.index_url_with_credentials

    def resolve(text):
        spec = parse_text("--extra-index-url %s\n%s" % (index, text), "requirements.txt")
        return resolve_environment(spec, Credentials.from_environment([index]))

    return resolve


def _sha256_of(pypi_index_server, filename):
    path = next(p for name in ("mfenvs-alpha", "mfenvs-beta", "mfenvs-sdistonly")
                for p in pypi_index_server.index.files_of(name) if p.name == filename)
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_the_right_hash_resolves(hashed_resolve, pypi_index_server):
    alpha = _sha256_of(pypi_index_server, "mfenvs_alpha-1.0.0-py3-none-any.whl")
    env = hashed_resolve("mfenvs-alpha==1.0.0 --hash=sha256:%s --hash=sha256:%s\n" % (WRONG, alpha))
    assert [(p.name, p.sha256) for p in env.pypi_packages()] == [("mfenvs-alpha", alpha)]


def test_a_wrong_hash_is_refused_naming_package_file_and_hashes(hashed_resolve):
    with pytest.raises(ResolveError) as err:
        hashed_resolve("mfenvs-alpha==1.0.0 --hash=sha256:%s\n" % WRONG)
    message = str(err.value)
    assert "PyPI package 'mfenvs-alpha': mfenvs_alpha-1.0.0-py3-none-any.whl has sha256 " in message
    assert "not among the hashes given for it (sha256:%s)" % WRONG in message


def test_a_fully_hashed_file_is_a_lock_whose_dependencies_are_not_resolved(hashed_resolve, pypi_index_server):
    """Every line `name==version --hash=...` (pip-compile output): installed as listed, as
    `pip install --no-deps` would; beta's dependency alpha, not listed, is not added."""
    beta = _sha256_of(pypi_index_server, "mfenvs_beta-1.0.0-py3-none-any.whl")
    env = hashed_resolve("mfenvs-beta==1.0.0 --hash=sha256:%s\n" % beta)
    assert [(p.name, p.version, p.sha256) for p in env.pypi_packages()] == [("mfenvs-beta", "1.0.0", beta)]


def test_dependencies_need_hashes_too(hashed_resolve, pypi_index_server):
    """Not a lock (one line is a URL): dependencies are resolved, and must be hashed as well."""
    beta = _sha256_of(pypi_index_server, "mfenvs_beta-1.0.0-py3-none-any.whl")
    url = "%s/files/mfenvs_beta-1.0.0-py3-none-any.whl" % pypi_index_server.url
    with pytest.raises(ResolveError, match=r"these packages have none: mfenvs-alpha==2\.0\.0\. Add each"):
        hashed_resolve("mfenvs-beta @ %s --hash=sha256:%s\n" % (url, beta))


def test_an_sdist_is_checked_by_its_archive_hash(hashed_resolve, pypi_index_server):
    sdist = _sha256_of(pypi_index_server, "mfenvs_sdistonly-0.1.0.tar.gz")
    with pytest.raises(ResolveError, match=r"'mfenvs-sdistonly': mfenvs_sdistonly-0\.1\.0\.tar\.gz has sha256 %s"
                                           % sdist):
        hashed_resolve("mfenvs-sdistonly==0.1.0 --hash=sha256:%s\n" % WRONG)
    env = hashed_resolve("mfenvs-sdistonly==0.1.0 --hash=sha256:%s\n" % sdist)
    (built,) = env.pypi_packages()
    assert built.filename.endswith(".whl") and built.built_from


def test_extending_a_hashed_environment_keeps_checking(hashed_resolve, pypi_index_server, tmp_path):
    """The extension pins what the base locked; the base's hashes must come along, or an
    unhashed addition would turn hash checking off for the whole environment."""
    from metaflow_extensions.envs.plugins.envs.environments import Environments
    from metaflow_extensions.envs.plugins.envs.spec.model import EnvSpec, PypiDep, PypiSources
    from metaflow_extensions.envs.plugins.envs.store.local import LocalIndex

    alpha = _sha256_of(pypi_index_server, "mfenvs_alpha-1.0.0-py3-none-any.whl")
    base = hashed_resolve("mfenvs-alpha==1.0.0 --hash=sha256:%s\n" % alpha)
    envs = Environments(index=LocalIndex(tmp_path / "index"))  # credentials: inline in the addition's index URL
    addition = EnvSpec(pypi_deps=(PypiDep.parse("mfenvs-sdistonly"),),
                       pypi_sources=PypiSources(extra_index_urls=(pypi_index_server.index_url_with_credentials,)))
    with pytest.raises(ResolveError, match=r"these packages have none: mfenvs-sdistonly==0\.1\.0"):
        envs.extend(base, addition, dry_run=True)
