"""Adding packages to an environment only known when the task starts."""
# expect-error: cannot be extended
from metaflow import FlowSpec, conda, named_env_base, step


@named_env_base(name="team/@{TEAM}", fetch_at_exec=True)
class DecoratorExtendFetchAtExecFlow(FlowSpec):
    @conda(libraries={"numpy": ""})
    @step
    def start(self):
        self.next(self.end)

    @step
    def end(self):
        pass


if __name__ == "__main__":
    DecoratorExtendFetchAtExecFlow()
