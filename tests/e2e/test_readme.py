"""The README's headline flow runs as written (Conda packages from the local test channel,
`rich` from PyPI)."""
import re
from pathlib import Path

README = Path(__file__).resolve().parents[2] / "README.md"


def readme_flow() -> str:
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), re.S)
    flows = [b for b in blocks if "FlowSpec" in b and "__main__" in b]
    assert flows, "the README has no complete flow"
    return flows[0]


def test_the_readme_flow_runs_as_written(flows, tmp_path):
    script = tmp_path / "train.py"
    script.write_text(readme_flow())
    result = flows.run(str(script)).check()
    assert "start: pandas 2.2.3 scikit-learn 1.5.2" in result.output
    assert "end: pandas 2.2.3" in result.output
