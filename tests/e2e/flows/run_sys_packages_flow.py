"""Virtual packages: needscuda 1.0.0 needs __cuda >=12, 2.0.0 needs __cuda >=12.8. A step asking
for a GPU gets the GPU defaults (__cuda 12.4); the flow's @sys_packages_base wins over them and
a step's @sys_packages over both. Runs here without a GPU: needscuda is noarch."""
from metaflow import FlowSpec, conda, resources, step, sys_packages, sys_packages_base

from run_probe import probe


@sys_packages_base(packages={"__glibc": "2.28"})
class RunSysPackagesFlow(FlowSpec):
    @resources(gpu=1)
    @conda(libraries={"needscuda": ""})
    @step
    def start(self):
        self.probe = probe("needscuda")
        self.next(self.newer)

    @sys_packages(packages={"__cuda": "12.8"})
    @conda(libraries={"needscuda": ""})
    @step
    def newer(self):
        self.probe = probe("needscuda")
        self.next(self.end)

    @step
    def end(self):
        pass


if __name__ == "__main__":
    RunSysPackagesFlow()
