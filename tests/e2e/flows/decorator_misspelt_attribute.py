"""@conda with a misspelt attribute: one line with a did-you-mean, not an import-time traceback."""
# expect-error: @conda on step 'start': unknown attribute 'librarys' (did you mean 'libraries'?)
from metaflow import FlowSpec, conda, step


class DecoratorMisspeltAttributeFlow(FlowSpec):
    @conda(librarys={"tinyutil": "1.1.0"})
    @step
    def start(self):
        self.next(self.end)

    @step
    def end(self):
        pass


if __name__ == "__main__":
    DecoratorMisspeltAttributeFlow()
