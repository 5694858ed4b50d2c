"""The named environment of `start` is looked up when its task starts, from a parameter
(`tag` is reserved by Metaflow's `run --tag`, hence `envtag`). `start` fails while
MFENVS_E2E_FAIL=1 is set, so the run can be resumed."""
import os

from metaflow import FlowSpec, Parameter, named_env, step

from run_probe import probe


class RunFetchAtExecFlow(FlowSpec):
    envtag = Parameter("envtag", default="v2", help="tag of team/tiny to run start in")

    @named_env(name="team/tiny:@{METAFLOW_INIT_ENVTAG}", fetch_at_exec=True)
    @step
    def start(self):
        if os.environ.get("MFENVS_E2E_FAIL") == "1":
            raise RuntimeError("start fails on purpose (MFENVS_E2E_FAIL=1)")
        self.probe = probe("tinyutil")
        self.next(self.end)

    @step
    def end(self):
        pass


if __name__ == "__main__":
    RunFetchAtExecFlow()
