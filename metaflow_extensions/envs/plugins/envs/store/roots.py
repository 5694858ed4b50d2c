"""Which datastore backs the environment store, and where its root is. Light on purpose:
the remote bootstrap uses it before our other dependencies are on the node."""
from .. import settings
from ..errors import StoreError

ROOT_SETTING = {"s3": "CONDA_S3ROOT", "azure": "CONDA_AZUREROOT", "gs": "CONDA_GSROOT", "local": "CONDA_LOCALROOT"}
DEFAULT_SUBDIR = "conda_env"


def storage_class(datastore_type: str):
    from metaflow.plugins import DATASTORES

    for impl in DATASTORES:
        if impl.TYPE == datastore_type:
            return impl
    raise StoreError("Unknown datastore type '%s': use one of %s." % (
        datastore_type, ", ".join(sorted(i.TYPE for i in DATASTORES))))


def default_root(datastore_type: str) -> str:
    """METAFLOW_CONDA_<TYPE>ROOT, else a folder under the datastore's own root."""
    explicit = settings.value(ROOT_SETTING[datastore_type]) if datastore_type in ROOT_SETTING else None
    if explicit:
        return explicit
    impl = storage_class(datastore_type)
    base = impl.get_datastore_root_from_config(lambda *a, **k: None, create_on_absent=True)
    if not base:
        raise StoreError(
            "No datastore root for '%s': set METAFLOW_DATASTORE_SYSROOT_%s or METAFLOW_%s."
            % (datastore_type, datastore_type.upper(), ROOT_SETTING.get(datastore_type, "CONDA_ROOT"))
        )
    return impl.path_join(base, DEFAULT_SUBDIR)


