"""A second run reuses the environment; --force-rebuild-environments resolves again, given
where people write it: after `run`, with the run's other options (Metaflow itself takes it
only before the command)."""
import pytest

from .conftest import run_retry_flow

pytestmark = pytest.mark.xdist_group("retry-flow")  # shares its first run with test_retry.py


def _start_line(output):
    return next(l for l in output.splitlines() if "start: pypi-only environment" in l)


def test_reuse_then_force(retry_flow_first_run):
    root, first_output = retry_flow_first_run
    first = _start_line(first_output)
    assert "resolved in" in first
    again = _start_line(run_retry_flow(root))
    assert again.endswith("reused") and again.split()[3] == first.split()[3]  # same full_id
    forced = _start_line(run_retry_flow(root, "--force-rebuild-environments"))
    assert "resolved in" in forced
