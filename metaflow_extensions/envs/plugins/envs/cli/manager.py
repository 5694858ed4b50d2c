"""The one place the command line decides which store backs its environments.

Like a flow does: the datastore type (`--datastore`, else METAFLOW_DEFAULT_DATASTORE) names
an EnvStore when it is not `local`; with the local datastore (or `--local-only`) the local
index and cache are all there is.
"""
from typing import Optional

from .. import settings
from ..environments import Environments


def datastore_type(explicit: Optional[str] = None) -> str:
    return explicit or settings.get("DEFAULT_DATASTORE") or "local"


def make_environments(datastore: Optional[str] = None, local_only: bool = False) -> Environments:
    return Environments.for_datastore(datastore_type(datastore), local_only)
