"""A step in its own environment that fails on its first attempt and is retried."""
from metaflow import FlowSpec, current, pypi, retry, step


class RetryFlow(FlowSpec):
    @retry(times=1, minutes_between_retries=0)
    @pypi(packages={"six": "1.16.0"})
    @step
    def start(self):
        import sys

        import six

        if current.retry_count == 0:
            raise RuntimeError("first attempt fails on purpose")
        print("ATTEMPT %d IN %s WITH six %s" % (current.retry_count, sys.executable, six.__version__))
        self.next(self.end)

    @step
    def end(self):
        pass


if __name__ == "__main__":
    RetryFlow()
