"""The Metaflow client's view of a step, for `create PATHSPEC --into-dir` (and the group's
`--metadata`): the one place the command line reads runs and steps through Metaflow, so that
cli/ stays free of Metaflow imports (tests/unit/test_layers.py)."""
import os
from typing import Any, Optional, Tuple

from ..errors import EnvError


def apply_metadata(metadata_type: str) -> None:
    """--metadata: the metadata provider the Metaflow client reads runs and steps from (here:
    the code package of `create PATHSPEC --into-dir`)."""
    from metaflow import metadata

    metadata(metadata_type)


def code_of(pathspec: str, run_root: Optional[str] = None) -> Tuple[Any, Any]:
    """(the MetaflowCode of the step (its first task's), else of its run, or None; the step's
    first task). `run_root`: the `.metaflow` directory a local run was recorded in (the local
    index), read wherever this command runs rather than only below the flow's working directory."""
    from metaflow import Run, Step, get_metadata, metadata, namespace
    from metaflow.exception import MetaflowException

    namespace(None)
    flow, run_id = pathspec.split("/")[:2]
    if get_metadata().startswith("local") and _holds_run(run_root, flow, run_id):
        metadata("local@%s" % os.path.dirname(run_root))
    try:
        step = Step(pathspec, _namespace_check=False)
        task = step.task
        code = task.code if task is not None else None
        if code is None:
            code = Run("/".join(pathspec.split("/")[:2]), _namespace_check=False).code
    except MetaflowException as err:
        raise EnvError("Cannot read step %s with the Metaflow client (%s): check the pathspec and "
                       "METAFLOW_DEFAULT_METADATA%s." % (pathspec, str(err).strip().splitlines()[-1], "" if (
                           run_root or not get_metadata().startswith("local")) else
                           " (with local metadata, a run this machine did not record is read from the "
                           ".metaflow directory above the working directory: run the command from the "
                           "flow's directory)")) from None
    return code, task


def _holds_run(run_root: Optional[str], flow: str, run_id: str) -> bool:
    """A root read from the local index is data: used only if it is a `.metaflow` directory
    holding this very run."""
    if not run_root or not os.path.isabs(run_root) or os.path.basename(run_root) != ".metaflow":
        return False
    return os.path.isdir(os.path.join(run_root, flow, run_id))
