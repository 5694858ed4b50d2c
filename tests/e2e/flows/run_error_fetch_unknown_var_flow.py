"""fetch_at_exec with a variable that is neither set nor a parameter: the task cannot
start and the message names NOPE (and lists the variables there are, among them
METAFLOW_INIT_ENVTAG for the flow's one parameter)."""
from metaflow import FlowSpec, Parameter, named_env, step


class RunErrorFetchUnknownVarFlow(FlowSpec):
    envtag = Parameter("envtag", default="v1")

    @named_env(name="team/tiny:@{NOPE}", fetch_at_exec=True)
    @step
    def start(self):
        self.next(self.end)

    @step
    def end(self):
        pass


if __name__ == "__main__":
    RunErrorFetchUnknownVarFlow()
