"""name= and pathspec= on one decorator."""
# expect-error: @named_env on step 'start' sets both name= and pathspec=
from metaflow import FlowSpec, named_env, step


class DecoratorNameAndPathspecFlow(FlowSpec):
    @named_env(name="team/env", pathspec="OtherFlow/12/start")
    @step
    def start(self):
        self.next(self.end)

    @step
    def end(self):
        pass


if __name__ == "__main__":
    DecoratorNameAndPathspecFlow()
