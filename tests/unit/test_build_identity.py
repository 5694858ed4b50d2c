"""What identifies a source to build (the build cache's key), and its place in the lock."""
from metaflow_extensions.envs.plugins.envs.kinds import PackageKind
from metaflow_extensions.envs.plugins.envs.lock import LockedPackage
from metaflow_extensions.envs.plugins.envs.resolve.build import content_sha256


def _project(root):
    (root / "pkg").mkdir(parents=True)
    (root / "pkg" / "__init__.py").write_text("x = 1\n")
    (root / "pyproject.toml").write_text("[project]\nname = 'pkg'\n")
    return root


def test_build_outputs_and_vcs_data_do_not_change_a_directory_identity(tmp_path):
    root = _project(tmp_path / "p")
    before = content_sha256(root)
    for junk in (".git/HEAD", "build/lib/pkg/__init__.py", "pkg.egg-info/PKG-INFO", "pkg/__pycache__/a.pyc",
                 "dist/pkg-1.0.tar.gz"):
        (root / junk).parent.mkdir(parents=True, exist_ok=True)
        (root / junk).write_text("written by a build or by git")
    assert content_sha256(root) == before
    assert content_sha256(_project(tmp_path / "elsewhere")) == before  # where it lives does not count


def test_contents_names_and_executable_bits_do(tmp_path):
    root = _project(tmp_path / "p")
    seen = {content_sha256(root)}
    (root / "pkg" / "__init__.py").write_text("x = 2\n")
    seen.add(content_sha256(root))
    (root / "pkg" / "__init__.py").rename(root / "pkg" / "other.py")
    seen.add(content_sha256(root))
    (root / "pkg" / "other.py").chmod(0o755)
    seen.add(content_sha256(root))
    assert len(seen) == 4


def test_the_lock_keeps_the_source_sha256():
    pkg = LockedPackage(kind=PackageKind.PYPI, name="pkg", version="1.0", build="py3-none-any",
                        filename="pkg-1.0-py3-none-any.whl", url="/src/pkg", sha256="a" * 64,
                        built_from="/src/pkg", source_sha256="b" * 64)
    assert pkg.to_dict()["source_sha256"] == "b" * 64
    assert LockedPackage.from_dict(pkg.to_dict()) == pkg
