"""`--hash` in requirement lines: pip's hash-checking mode, as far as parsing goes (the check
of the files themselves is in tests/integration/test_hash_checking.py)."""
import textwrap

import pytest

from metaflow_extensions.envs.plugins.envs.errors import SpecError
from metaflow_extensions.envs.plugins.envs.spec import environment_yml, requirements_txt
from metaflow_extensions.envs.plugins.envs.spec.model import EnvSpec

A, B, C = "a" * 64, "B" * 64, "c" * 64


def parse(text):
    return requirements_txt.parse_text(textwrap.dedent(text), "requirements.txt")


def test_what_pip_compile_generate_hashes_writes():
    spec = parse(
        """
        numpy==1.26.4 \\
            --hash=sha256:%s \\
            --hash=sha256:%s
            # via pandas
        requests==2.31.0 --hash sha256:%s
        """ % (B, A, C)
    )
    assert {str(d): d.hashes for d in spec.pypi_deps} == {
        "numpy==1.26.4": (A, B.lower()),  # lowercase, sorted
        "requests==2.31.0": (C,),
    }


def test_hashes_take_part_in_the_request_identity():
    hashed = parse("six==1.16.0 --hash=sha256:%s\n" % A)
    assert hashed.req_id != parse("six==1.16.0 --hash=sha256:%s\n" % C).req_id
    plain = parse("six==1.16.0\n")
    assert hashed.req_id != plain.req_id
    assert "pypi_hashes" not in plain.canonical()  # requests without hashes keep their req_id
    assert EnvSpec.from_dict(hashed.to_dict()) == hashed


def test_a_lock_with_a_malformed_hash_is_refused():
    data = parse("six==1.16.0 --hash=sha256:%s\n" % A).to_dict()
    data["pypi_hashes"]["six==1.16.0"] = ["../../etc"]
    with pytest.raises(SpecError, match=r"Malformed hash '\.\./\.\./etc' for PyPI requirement 'six==1\.16\.0'"):
        EnvSpec.from_dict(data)


def test_other_algorithms_next_to_sha256_are_ignored():
    spec = parse("six==1.16.0 --hash=sha512:%s --hash=sha256:%s\n" % ("f" * 128, A))
    assert spec.pypi_deps[0].hashes == (A,)


@pytest.mark.parametrize(
    "text, match",
    [
        ("six==1.16.0 --hash=sha512:%s" % ("f" * 128),
         r"line 1: only sha256 hashes can be checked .* '--hash=sha512:f+' has none"),
        ("six==1.16.0 --hash=md5:%s" % ("f" * 32), r"line 1: unknown hash algorithm in '--hash=md5:f+'"),
        ("six==1.16.0 --hash=sha256:abcd", r"line 1: Malformed hash 'abcd' for PyPI requirement 'six==1\.16\.0'"),
        # pip's hash-checking mode: every requirement pinned and hashed
        ("six==1.16.0 --hash=sha256:%s\n\nrequests==2.31.0\nidna>=3 --hash=sha256:%s" % (A, C),
         r"line 3: hash-checking mode \(line 1 has a '--hash'\): .*not so: 'requests==2\.31\.0' \(line 3\), "
         r"'idna>=3' \(line 4\)\."),
        ("six==1.* --hash=sha256:%s" % A, r"not so: 'six==1\.\*' \(line 1\)"),
        ("./mypkg --hash=sha256:%s" % A, r"not so: '\./mypkg' \(line 1\)"),
        ("--require-hashes\nsix==1.16.0", r"line 2: hash-checking mode \(--require-hashes\).*'six==1\.16\.0' \(line 2\)"),
    ],
)
def test_refused(text, match):
    with pytest.raises(SpecError, match=match):
        parse(text)


def test_pinned_forms_accepted_in_hash_checking_mode():
    spec = parse(
        """
        --require-hashes
        six===1.16.0 --hash=sha256:%s
        mypkg @ https://h.example/mypkg-1.0.tar.gz --hash=sha256:%s
        """ % (A, C)
    )
    assert [d.name for d in spec.pypi_deps] == ["six", "mypkg"]


def test_environment_yml_pip_section_follows_the_same_rules():
    text = "dependencies:\n  - python=3.11\n  - pip:\n    - six==1.16.0 --hash=sha256:%s\n    - requests\n" % A
    with pytest.raises(SpecError, match=r"environment\.yml, line 5: hash-checking mode .*'requests' \(line 5\)"):
        environment_yml.parse_text(text, "environment.yml")
    ok = environment_yml.parse_text(text.replace("    - requests\n", ""), "environment.yml")
    assert ok.pypi_deps[0].hashes == (A,)


def test_a_hashed_requirement_conda_provides_is_refused():
    """Conda's file is not the one hashed: installing it would skip the check silently."""
    from metaflow_extensions.envs.plugins.envs.errors import ResolveError
    from metaflow_extensions.envs.plugins.envs.resolve.pypi import _requirements_not_provided

    spec = parse("six==1.16.0 --hash=sha256:%s\n" % A)
    with pytest.raises(ResolveError, match=r"'six==1\.16\.0' has '--hash' values, but Conda installs six 1\.16\.0"):
        _requirements_not_provided(spec, {"six": "1.16.0"})
