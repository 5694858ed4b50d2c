"""needsnewglibc needs __glibc >=99: unsatisfiable on this machine; the message names __glibc."""
from metaflow import FlowSpec, conda, step


class RunErrorGlibcFlow(FlowSpec):
    @conda(libraries={"needsnewglibc": ""})
    @step
    def start(self):
        self.next(self.end)

    @step
    def end(self):
        pass


if __name__ == "__main__":
    RunErrorGlibcFlow()
