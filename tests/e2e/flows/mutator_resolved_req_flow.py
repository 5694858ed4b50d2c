"""@resolved_req(path="reqs"), the reference's flow mutator: every step in the environment of
reqs/requirements.txt (pip-compile's pinned output, used before reqs/requirements.in)."""
from metaflow import FlowSpec, resolved_req, step

from run_probe import probe


@resolved_req(path="reqs")
class MutatorResolvedReqFlow(FlowSpec):
    @step
    def start(self):
        self.probe = probe("mfenvs_alpha", "mfenvs_beta")
        self.next(self.end)

    @step
    def end(self):
        self.probe = probe("mfenvs_alpha", "mfenvs_beta")


if __name__ == "__main__":
    MutatorResolvedReqFlow()
