"""A flow whose `start` runs under `@titus`, a company's own remote decorator (from an
extension of the test's), `middle` under `@card`, and `end` under neither. Every step's
environment is looked up when its task starts, so `environment show` names the platform each
would run on without resolving anything."""
from metaflow import FlowSpec, card, named_env, step, titus


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
        self.next(self.end)

    @named_env(name="team/remote:v1", fetch_at_exec=True)
    @step
    def end(self):
        pass


if __name__ == "__main__":
    RemoteCommandsFlow()
