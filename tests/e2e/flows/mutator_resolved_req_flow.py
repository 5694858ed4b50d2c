"""@resolved_req(path="reqs"), the reference's flow mutator: every step in the environment of
reqs/requirements.txt (pip-compile's pinned output, used before reqs/requirements.in).
`start` removes reqs/ (given as MFENVS_E2E_REQS): later tasks, like a remote node's, run
without the file the launcher read."""
import os
import shutil

from metaflow import FlowSpec, resolved_req, step

from run_probe import probe


@resolved_req(path="reqs")
class MutatorResolvedReqFlow(FlowSpec):
    @step
    def start(self):
        self.probe = probe("mfenvs_alpha", "mfenvs_beta")
        shutil.rmtree(os.environ["MFENVS_E2E_REQS"])
        self.next(self.end)

    @step
    def end(self):
        self.probe = probe("mfenvs_alpha", "mfenvs_beta")


if __name__ == "__main__":
    MutatorResolvedReqFlow()
