"""Small helpers shared by integration tests."""
import subprocess
from pathlib import Path


def run_python(python: Path, code: str) -> str:
    """Run code with an environment's interpreter, isolated from the caller's site-packages."""
    proc = subprocess.run(
        [str(python), "-I", "-c", code], capture_output=True, text=True, env={"PATH": "/usr/bin:/bin"}
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip()
