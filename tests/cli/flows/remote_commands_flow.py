"""A flow whose `start` runs under `@titus`, a company's own remote decorator (from an
extension of the test's), `middle` under `@card`, and `end` under neither: their environments
are looked up when their tasks start, so `environment show` names the platform each would run
on without resolving anything. `gpu` asks `@titus` for a GPU, so its environment is resolved
with a CUDA driver (needscuda needs one)."""
from metaflow import FlowSpec, card, conda, named_env, step, titus


class RemoteCommandsFlow(FlowSpec):
    @titus
    @named_env(name="team/remote:v1", fetch_at_exec=True)
    @step
    def start(self):
        self.next(self.middle)

    @card
    @named_env(name="team/remote:v1", fetch_at_exec=True)
    @step
    def middle(self):
        self.next(self.gpu)

    @titus(gpu=1)
    @conda(libraries={"needscuda": ""})
    @step
    def gpu(self):
        self.next(self.end)

    @named_env(name="team/remote:v1", fetch_at_exec=True)
    @step
    def end(self):
        pass


if __name__ == "__main__":
    RemoteCommandsFlow()
