"""@conda_base for every step, @conda adding to it, @named_env on another step."""
# expect: ok
from metaflow import FlowSpec, conda, conda_base, named_env, step


@conda_base(libraries={"pandas": "1.4.2"}, python="3.10")
class DecoratorMergeOkFlow(FlowSpec):
    @conda(libraries={"numpy": ">=1.26"}, pip_packages={"requests": ""})
    @step
    def start(self):
        self.next(self.middle)

    @named_env(name="team/env:stable")
    @step
    def middle(self):
        self.next(self.end)

    @step
    def end(self):
        pass


if __name__ == "__main__":
    DecoratorMergeOkFlow()
