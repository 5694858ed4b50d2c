"""@resolved_uv, the reference's flow mutator, from inside a uv project (tests/e2e/test_mutators.py
copies it there): every step in the project's locked environment, with --environment=conda."""
from metaflow import FlowSpec, resolved_uv, step

from run_probe import probe

MODULES = ("mfenvs_alpha", "mfenvs_otherdep", "requests")


@resolved_uv
class MutatorResolvedUvFlow(FlowSpec):
    @step
    def start(self):
        self.probe = probe(*MODULES)
        self.next(self.end)

    @step
    def end(self):
        self.probe = probe(*MODULES)


if __name__ == "__main__":
    MutatorResolvedUvFlow()
