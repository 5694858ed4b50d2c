"""name= together with packages on one decorator."""
# expect-error: @conda on step 'start' sets name= together with libraries
from metaflow import FlowSpec, conda, step


class DecoratorNameWithPackagesFlow(FlowSpec):
    @conda(name="team/env", libraries={"numpy": ""})
    @step
    def start(self):
        self.next(self.end)

    @step
    def end(self):
        pass


if __name__ == "__main__":
    DecoratorNameWithPackagesFlow()
