"""fetch_at_exec without a name."""
# expect-error: @pypi on step 'start' sets fetch_at_exec=True without name= or pathspec=
from metaflow import FlowSpec, pypi, step


class DecoratorFetchAtExecNoNameFlow(FlowSpec):
    @pypi(packages={"requests": ""}, fetch_at_exec=True)
    @step
    def start(self):
        self.next(self.end)

    @step
    def end(self):
        pass


if __name__ == "__main__":
    DecoratorFetchAtExecNoNameFlow()
