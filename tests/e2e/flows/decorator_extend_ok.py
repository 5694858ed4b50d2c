"""Steps adding packages to the environment named by @named_env_base."""
# expect: ok
from metaflow import FlowSpec, named_env_base, pypi, step


@named_env_base(name="team/env:stable")
class DecoratorExtendOkFlow(FlowSpec):
    @pypi(packages={"requests": "2.31"})
    @step
    def start(self):
        self.next(self.end)

    @step
    def end(self):
        pass


if __name__ == "__main__":
    DecoratorExtendOkFlow()
