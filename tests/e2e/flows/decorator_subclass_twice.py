"""Another extension's subclass of @conda next to @conda on one step (the subclass is
declared here, as an extension would declare it)."""
# expect-error: Step 'start' has @other_conda and @conda, two decorators of the same kind
from functools import partial

from metaflow import FlowSpec, conda, step
from metaflow.decorators import _base_step_decorator
from metaflow_extensions.envs.plugins.envs.integration.decorators import CondaStepDecorator


class OtherCondaStepDecorator(CondaStepDecorator):
    name = "other_conda"


other_conda = partial(_base_step_decorator, OtherCondaStepDecorator)


class DecoratorSubclassTwiceFlow(FlowSpec):
    @conda(libraries={"numpy": ""})
    @other_conda(libraries={"scipy": ""})
    @step
    def start(self):
        self.next(self.end)

    @step
    def end(self):
        pass


if __name__ == "__main__":
    DecoratorSubclassTwiceFlow()
