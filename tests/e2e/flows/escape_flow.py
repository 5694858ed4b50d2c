"""A step in its own environment imports a module that only the outer Python has, through
Metaflow's environment escape (Metaflow's test configuration emulates `test_lib`)."""
from metaflow import FlowSpec, pypi, step


class EscapeFlow(FlowSpec):
    @pypi(packages={"six": "1.16.0"})
    @step
    def start(self):
        import sys

        import test_lib  # served by the outer interpreter

        self.inner = sys.executable
        self.escaped = str(test_lib.TestIntEnum.TWO.value)
        self.next(self.end)

    @step
    def end(self):
        print("ESCAPED %s IN %s" % (self.escaped, self.inner))


if __name__ == "__main__":
    EscapeFlow()
