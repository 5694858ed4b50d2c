"""A retried task runs in its environment again."""
import pytest

pytestmark = pytest.mark.xdist_group("retry-flow")  # shares its run with test_force_rebuild.py


def test_retry_runs_in_the_environment(retry_flow_first_run):
    root, output = retry_flow_first_run
    assert "first attempt fails on purpose" in output
    line = next(l for l in output.splitlines() if "ATTEMPT" in l)
    assert "ATTEMPT 1 IN " + str(root / "cache") in line and line.endswith("WITH six 1.16.0")
