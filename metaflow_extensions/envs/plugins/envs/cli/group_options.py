"""The options of the `metaflow environment` group that the reference extension's users type
(`--conda-root`; `--metadata` is applied by integration/step_code.py, through the Metaflow
client; `--quiet-file-output` is an OutputFile), each applied with the reference's
meaning before the command runs, or refused naming what to use instead."""
import os

from ..errors import SpecError
from ..store.roots import ROOT_SETTING


def apply_conda_root(datastore_type: str, root: str) -> None:
    """--conda-root: the store root on the datastore, as METAFLOW_CONDA_<TYPE>ROOT would set
    it. Set in this process's environment, so every read of the setting (and every process
    this command starts) sees it; checked as the setting is."""
    from .. import settings

    if datastore_type == "local":
        raise SpecError("--conda-root %s names the root of a shared store on s3, azure or gs, and the datastore "
                        "is local (environments then stay in this machine's index): add --datastore s3 (or "
                        "azure, gs), or drop --conda-root." % root)
    name = ROOT_SETTING[datastore_type]
    os.environ["METAFLOW_" + name] = root
    try:
        settings.value(name)
    except SpecError as err:
        raise SpecError("--conda-root %s: %s" % (root, err)) from None

