"""requirements.txt parser: every supported form and every error."""
import textwrap

import pytest

from metaflow_extensions.envs.plugins.envs.spec import SpecError
from metaflow_extensions.envs.plugins.envs.spec.requirements_txt import parse_file, parse_text


def parse(text):
    return parse_text(textwrap.dedent(text), "requirements.txt")


def pypi(spec):
    return [str(d) for d in spec.pypi_deps]


def conda(spec):
    return [str(d) for d in spec.conda_deps]


def test_comments_blank_lines_and_trailing_comments():
    spec = parse(
        """
        # full-line comment

        pandas>=1.0  # trailing comment
           # indented comment
        requests\t# tab before the comment
        git+https://h/r.git#egg=mypkg
        """
    )
    # `#egg=` is part of the URL, not a comment
    assert pypi(spec) == ["pandas>=1.0", "requests", "git+https://h/r.git#egg=mypkg"]
    assert spec.conda_deps == () and spec.python is None


def test_line_continuations():
    spec = parse(
        """
        numpy==1.26.4 \\
            ; python_version >= "3.9"
            # via pandas
        pan\\
        das>=1
        """
    )
    assert pypi(spec) == ['numpy==1.26.4; python_version >= "3.9"', "pandas>=1"]


def test_requirement_forms():
    spec = parse(
        """
        requests[socks,security]>=2.20,<3
        numpy>=1.20; python_version >= "3.8"
        importlib-metadata; python_version < "3.8"
        torch @ https://download.pytorch.org/whl/torch-2.1.0-cp311-linux_x86_64.whl
        clip @ git+https://github.com/openai/CLIP.git@d50d76daa670286dd6cacf3bcd80b5e4823fc8e1
        git+https://github.com/org/repo.git@v1.0#egg=Repo_Pkg
        ./local/dir
        ../sibling
        /abs/dir
        file:///tmp/x
        foo @ file:///tmp/build_foo_pkg
        """
    )
    assert pypi(spec) == [
        "requests[security,socks]<3,>=2.20",
        'numpy>=1.20; python_version >= "3.8"',
        'importlib-metadata; python_version < "3.8"',
        "torch @ https://download.pytorch.org/whl/torch-2.1.0-cp311-linux_x86_64.whl",
        "clip @ git+https://github.com/openai/CLIP.git@d50d76daa670286dd6cacf3bcd80b5e4823fc8e1",
        "git+https://github.com/org/repo.git@v1.0#egg=Repo_Pkg",
        "./local/dir",
        "../sibling",
        "/abs/dir",
        "file:///tmp/x",
        "foo @ file:///tmp/build_foo_pkg",
    ]
    names = [d.name for d in spec.pypi_deps]
    assert names == [
        "requests", "numpy", "importlib-metadata", "torch", "clip", "repo-pkg",
        None, None, None, None, "foo",
    ]
    assert spec.env_type == "pypi-only"


@pytest.mark.parametrize(
    "line",
    [
        "-i https://idx.example.com/simple",
        "--index-url https://idx.example.com/simple",
        "--index-url=https://idx.example.com/simple",
        "-ihttps://idx.example.com/simple",
        "-i=https://idx.example.com/simple",
    ],
)
def test_index_url_spellings(line):
    assert parse(line + "\npandas\n").pypi_sources.index_url == "https://idx.example.com/simple"


def test_all_source_options(tmp_path):
    spec = parse(
        """
        --index-url https://idx.example.com/simple
        --extra-index-url https://download.pytorch.org/whl/cu121
        --extra-index-url=https://extra2.example.com/simple
        -f https://download.pytorch.org/whl/torch_stable.html
        --find-links=%s
        --trusted-host idx.example.com
        --pre --no-index
        pandas
        """ % tmp_path
    )
    src = spec.pypi_sources
    assert src.index_url == "https://idx.example.com/simple"
    assert src.extra_index_urls == (
        "https://download.pytorch.org/whl/cu121",
        "https://extra2.example.com/simple",
    )
    assert src.find_links == ("https://download.pytorch.org/whl/torch_stable.html", str(tmp_path))
    assert src.trusted_hosts == ("idx.example.com",)
    assert src.pre is True and src.no_index is True


def test_same_index_url_twice_is_fine_and_duplicates_collapse():
    spec = parse(
        """
        -i https://idx.example.com/simple
        --index-url https://idx.example.com/simple
        --extra-index-url https://x.example.com/simple
        --extra-index-url https://x.example.com/simple
        pandas
        pandas
        """
    )
    assert spec.pypi_sources.index_url == "https://idx.example.com/simple"
    assert spec.pypi_sources.extra_index_urls == ("https://x.example.com/simple",)
    assert pypi(spec) == ["pandas"]


def test_conda_pkg():
    spec = parse(
        """
        --conda-pkg ffmpeg
        --conda-pkg=libsndfile==1.2.2
        --conda-pkg "cuda-nvcc>=12"
        --conda-pkg conda-forge::sox=14.4
        --conda-pkg python>=3.10
        --conda-pkg pip
        ffmpeg-python
        """
    )
    assert conda(spec) == ["ffmpeg", "libsndfile ==1.2.2", "cuda-nvcc >=12", "conda-forge::sox 14.4.*", "pip"]
    # python becomes the python constraint; pip is kept as written
    assert spec.python == ">=3.10"
    assert pypi(spec) == ["ffmpeg-python"]
    assert spec.env_type == "mixed"


@pytest.mark.parametrize(
    "text, match",
    [
        ("-e ./mypkg", r"option '-e': editable installs are not supported.*'\./mypkg'"),
        ("--editable=git+https://h/r.git", r"option '--editable'"),
        ("--no-binary :all:", r"line 1: option '--no-binary' is not supported.*--conda-pkg"),
        ("--use-feature=fast-deps", r"option '--use-feature' is not supported"),
        ("--conda-channel 'two words'", r"line 1: 'two words' is not a channel: write a name"),
        ("pandas --global-option=x", r"per-requirement option '--global-option' is not supported"),
        ("pandas --config-settings k=v", r"per-requirement option '--config-settings'"),
        ("--index-url", r"option '--index-url' needs a value, e.g. '--index-url https://"),
        ("-f", r"option '-f' needs a value"),
        ("--conda-pkg", r"option '--conda-pkg' needs a value, e.g. '--conda-pkg ffmpeg'"),
        ("--pre=yes", r"option '--pre' takes no value"),
        ("--index-url pypi.org/simple", r"--index-url 'pypi\.org/simple' is not a URL"),
        ("--extra-index-url idx", r"--extra-index-url 'idx' is not a URL"),
        ("--pre pandas", r"unexpected 'pandas' after an option: put each requirement on its own line"),
        (
            "-i https://a.example.com/simple\n\n-i https://b.example.com/simple",
            r"line 3: a second index URL 'https://b\.example\.com/simple' \(the first is on "
            r"line 1\).*--extra-index-url",
        ),
        ("--hash=sha256:abcd", r"'--hash' must follow a requirement on the same line"),
        ("pandas --hash", r"'--hash' needs a value such as '--hash=sha256:"),
        ("pandas --hash=abcd", r"'--hash' needs a value"),
        ("\n\nnumpy>=1.20 foo", r"line 3: Malformed PyPI requirement 'numpy>=1\.20 foo'"),
        ("pandas>=1,,2", r"line 1: Malformed PyPI requirement 'pandas>=1,,2'"),
        # `name = 1.2` is only accepted in environment.yml's pip section
        ("outlier-detector = 0.0.3", r"Malformed PyPI requirement 'outlier-detector = 0\.0\.3'"),
        ("--conda-pkg ffmpeg=6=h1", r"line 1: Build strings are not supported for Conda package 'ffmpeg'"),
        ("--conda-pkg 'ffmpeg[x]'", r"Malformed Conda dependency 'ffmpeg\[x\]'"),
        (
            "--conda-pkg python=3.10\n--conda-pkg python>=3.9",
            r"line 2: python is constrained twice \(first on line 1\)",
        ),
        ("--conda-pkg conda-forge::python", r"python cannot come from a chosen channel"),
        (
            "--index-url https://${USER}:${TOKEN}@idx.example.com/simple",
            r"environment variables such as '\$\{USER\}' are not expanded.*METAFLOW_CONDA_SRCS_AUTH_INFO",
        ),
        ("--trusted-host 'unclosed", r"cannot split"),
    ],
)
def test_errors_name_file_line_and_culprit(text, match):
    with pytest.raises(SpecError, match=match):
        parse(text)


def test_error_in_continuation_reports_first_line():
    with pytest.raises(SpecError, match=r"line 2: per-requirement option '--install-option'"):
        parse("pandas\nnumpy \\\n  --install-option=x\n")


def test_trailing_backslash_at_end_of_file():
    assert pypi(parse("pandas \\")) == ["pandas"]


def test_parse_file(tmp_path):
    path = tmp_path / "reqs.txt"
    path.write_bytes(b"\xef\xbb\xbfpandas>=1.0\n--conda-pkg ffmpeg\n")  # with a UTF-8 BOM
    spec = parse_file(str(path))
    assert pypi(spec) == ["pandas>=1.0"] and conda(spec) == ["ffmpeg"]


def test_parse_file_errors_name_the_path(tmp_path):
    missing = tmp_path / "nope.txt"
    with pytest.raises(SpecError, match=r"'%s' does not exist" % str(missing).replace("\\", "\\\\")):
        parse_file(str(missing))
    with pytest.raises(SpecError, match=r"is a directory"):
        parse_file(str(tmp_path))
    bad = tmp_path / "latin1.txt"
    bad.write_bytes(b"pandas\nnumpy # caf\xe9\n")
    with pytest.raises(SpecError, match=r"latin1\.txt, line 2: the file is not valid UTF-8"):
        parse_file(str(bad))
    broken = tmp_path / "broken.txt"
    broken.write_text("pandas\n-r base.txt\n")
    with pytest.raises(SpecError, match=r"broken\.txt, line 2: '-r base.txt': Environment file .*base\.txt' does "
                                         r"not exist"):
        parse_file(str(broken))


def test_nested_requirements_and_constraints_files(tmp_path):
    """`-r` and `-c` as pip and uv read them: relative to the including file, at any depth."""
    (tmp_path / "reqs").mkdir()
    (tmp_path / "reqs" / "base.txt").write_text("requests>=2\n-c ../constraints/pins.txt\n-r dev.txt\n")
    (tmp_path / "reqs" / "dev.txt").write_text("--extra-index-url https://idx.example/simple\nrich\n")
    (tmp_path / "constraints").mkdir()
    (tmp_path / "constraints" / "pins.txt").write_text("# pins\nurllib3<2\n-c more.txt\n")
    (tmp_path / "constraints" / "more.txt").write_text("idna==3.7\n")
    top = tmp_path / "requirements.txt"
    top.write_text("six==1.16.0\n--requirement=reqs/base.txt\n")
    spec = parse_file(str(top))
    assert pypi(spec) == ["six==1.16.0", "requests>=2", "rich"]
    assert spec.pypi_sources.extra_index_urls == ("https://idx.example/simple",)
    assert spec.pypi_constraints == ("urllib3<2", "idna==3.7")
    (tmp_path / "reqs" / "base.txt").write_text("requests>=2\n")
    assert parse_file(str(top)).req_id != spec.req_id  # constraints are part of the request


@pytest.mark.parametrize("files, match", [
    ({"a.txt": "-r b.txt", "b.txt": "-r a.txt"}, r"b\.txt, line 1: '-r a\.txt' includes a file that is already "
                                                  r"being read \(.*a\.txt -> .*b\.txt -> .*a\.txt\)"),
    ({"a.txt": "-r a.txt"}, r"a\.txt, line 1: '-r a\.txt' includes a file that is already being read"),
    ({"a.txt": "-r environment.yml"}, r"names an environment\.yml: give it with -f \(--file\)"),
    ({"a.txt": "-c c.txt", "c.txt": "requests[socks]<3"}, r"c\.txt, line 1: 'requests\[socks\]<3' is not a constraint"),
    ({"a.txt": "-c c.txt", "c.txt": "--pre"}, r"c\.txt, line 1: option '--pre' is not allowed in a constraints file"),
    ({"a.txt": "six\n-r b.txt", "b.txt": "\nnot a requirement!"}, r"b\.txt, line 2: Malformed PyPI requirement"),
])
def test_nested_file_errors_name_the_file_and_line(tmp_path, files, match):
    for name, text in files.items():
        (tmp_path / name).write_text(text + "\n")
    with pytest.raises(SpecError, match=match):
        parse_file(str(tmp_path / "a.txt"))


def test_conda_channel_adds_channels_searched_before_the_configured_ones(tmp_path):
    (tmp_path / "more.txt").write_text("--conda-channel=https://conda.example.com/private\nsix\n")
    (tmp_path / "requirements.txt").write_text(
        "--conda-channel pytorch\n--conda-pkg pytorch::ffmpeg\n--conda-channel nodefaults\n"
        "-r more.txt\n--conda-channel pytorch\nrequests\n")
    spec = parse_file(str(tmp_path / "requirements.txt"))
    assert spec.extra_channels == ("pytorch", "https://conda.example.com/private")
    assert spec.channels == ()  # the configured channels still apply (see with_defaults)
    assert pypi(spec) == ["six", "requests"] and conda(spec) == ["pytorch::ffmpeg"]
    assert spec.req_id != parse("--conda-pkg pytorch::ffmpeg\nrequests\nsix\n").req_id
