"""The old bool spelling @conda(conda_only=True): conda_only is now @pypi's dict of Conda packages."""
# expect-error: @conda on step 'start': conda_only is @pypi's dict of Conda packages (conda_only={'ffmpeg': ''}, as in the reference extension); here, to keep PyPI out of the environment, write no_pypi=True.
from metaflow import FlowSpec, conda, step


class DecoratorCondaOnlyBoolOnCondaFlow(FlowSpec):
    @conda(libraries={"numpy": ""}, conda_only=True)
    @step
    def start(self):
        self.next(self.end)

    @step
    def end(self):
        pass


if __name__ == "__main__":
    DecoratorCondaOnlyBoolOnCondaFlow()
