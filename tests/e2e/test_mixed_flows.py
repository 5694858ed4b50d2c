"""Mixed decorators in real flows (`python flow.py --environment=conda run`): @conda and @pypi
on one step, a step's @pypi on @conda_base, a step's @conda on @pypi_base, no_pypi=True.

Conda packages come from the local test channel, PyPI packages (and `requests`, what Metaflow
needs in a task) from the local index of the reference examples' packages: no network."""
import re
from pathlib import Path


def _only(data, step):
    (task,) = data["steps"][step]
    return task


def _found(probe, module):
    """(version, installer) of `module` in the task's interpreter, None if not importable."""
    found = probe["modules"][module]
    return None if found is None else (found["version"], found["installer"])


def test_conda_and_pypi_mix_on_a_step_and_across_the_base(flows, reference_index_url):
    result = flows.run("run_mixed_flow.py", env={"METAFLOW_CONDA_DEFAULT_PYPI_SOURCE": reference_index_url}).check()
    data = flows.read("RunMixedFlow/%s" % result.run_id)

    start = _only(data, "start")["probe"]  # @conda + @pypi on one step, over @conda_base
    assert _found(start, "tinyutil") == ("1.0.0", "conda")
    assert _found(start, "chainc")[1] == "conda"
    assert _found(start, "pandas") == ("1.5.0", "uv")
    assert _found(start, "requests")[1] == "uv"  # Metaflow's own need, from PyPI

    on_base = _only(data, "pypi_on_conda_base")["probe"]  # @pypi on @conda_base: mixed
    assert _found(on_base, "tinyutil") == ("1.0.0", "conda")
    assert _found(on_base, "pandas") == ("1.4.0", "uv")
    assert _found(on_base, "chainc") is None
    assert on_base["prefix"] != start["prefix"]

    conda_only = _only(data, "conda_only")["probe"]  # nothing from PyPI, Metaflow's needs included
    assert _found(conda_only, "tinyutil") == ("1.0.0", "conda")
    assert _found(conda_only, "requests") == ("2.31.0", "conda")

    end = _only(data, "end")  # @pypi(disabled=True) on @conda_base: the Python running the flow
    assert end["conda_env_id"] is None and _found(end["probe"], "tinyutil") is None


def test_conda_step_adds_to_pypi_base(flows, reference_index_url):
    result = flows.run("run_mixed_pypi_base_flow.py",
                       env={"METAFLOW_CONDA_DEFAULT_PYPI_SOURCE": reference_index_url}).check()
    data = flows.read("RunMixedPypiBaseFlow/%s" % result.run_id)
    start = _only(data, "start")["probe"]
    assert _found(start, "tinyutil") == ("2.0.0", "conda") and _found(start, "pandas") == ("1.4.0", "uv")
    end = _only(data, "end")  # @pypi(conda_only={"ffmpeg": ""}): still a PyPI environment, plus ffmpeg
    assert _found(end["probe"], "tinyutil") is None and _found(end["probe"], "pandas") == ("1.4.0", "uv")
    ffmpeg = end["probe"]["tools"]["ffmpeg"]
    assert ffmpeg["output"] == "ffmpeg version 6.1.1" and ffmpeg["path"].startswith(end["probe"]["prefix"])


def test_the_decorators_doc_flow_runs_as_written(flows, tmp_path, reference_index_url):
    doc = (Path(__file__).resolve().parents[2] / "docs" / "decorators.md").read_text()
    (block,) = [b for b in re.findall(r"```python\n(.*?)```", doc, re.S) if "__main__" in b]
    script = tmp_path / "mixed_doc_flow.py"
    script.write_text(block)
    result = flows.run(str(script), env={"METAFLOW_CONDA_DEFAULT_PYPI_SOURCE": reference_index_url}).check()
    assert "start: numpy 1.26.4 scipy 1.11.4 pandas 1.5.0" in result.output
    assert "end: numpy 1.26.4, nothing from PyPI" in result.output
