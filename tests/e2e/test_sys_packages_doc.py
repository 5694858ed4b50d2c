"""docs/system-packages.md's flow runs as written: a @resources(gpu=1) step resolves an
environment needing __cuda through the GPU defaults (no GPU is needed to run the noarch
package), a step's @sys_packages wins over them, and a GPU default too old for the package
ends in one message naming __cuda and how to declare it."""
import re
from pathlib import Path

PAGE = Path(__file__).resolve().parents[2] / "docs" / "system-packages.md"


def page_flow() -> str:
    (flow,) = [b for b in re.findall(r"```python\n(.*?)```", PAGE.read_text(), re.S) if "FlowSpec" in b]
    return flow


def test_the_page_flow_runs_as_written(flows, tmp_path):
    script = tmp_path / "gpu_flow.py"
    script.write_text(page_flow())
    result = flows.run(str(script)).check()
    assert "start: needscuda 1.0.0" in result.output  # GPU defaults: __cuda 12.4
    assert "newer: needscuda 2.0.0" in result.output  # the step's @sys_packages: __cuda 12.8

    again = flows.run(str(script), env={"METAFLOW_CONDA_SYS_DEFAULT_GPU_PACKAGES": '{"__cuda": "11.8"}'})
    flat = " ".join(again.output.split())
    assert again.returncode != 0 and "Traceback" not in flat, again.output
    for text in ("Step start:", "__cuda >=12", "resolved with __cuda 11.8",
                 '@sys_packages(packages={"__cuda": "12.4"})'):
        assert text in flat, again.output
