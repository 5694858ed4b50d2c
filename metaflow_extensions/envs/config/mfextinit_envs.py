"""Registers every forwarded setting of metaflow-envs with Metaflow's configuration, from the one
table (plugins/envs/settings_table.py: defaults, what is allowed, docs): Metaflow then reads
each from the environment or a profile and forwards it to remote nodes (Kubernetes, Batch and
Argo send every METAFLOW_CONDA_* value it knows that differs from its default).

Defaults are text, as the environment would hold them: Metaflow converts a value to its
default's type when it is imported, so a bad number would end every command in a traceback;
the engine checks each value when it reads it (one message naming the setting), from the
environment and the configuration files themselves. Flags get a bool default (Metaflow's debug
options test DEBUG_CONDA for truth); JSON settings none (a text default would make Metaflow
turn a profile's JSON object into text)."""
from metaflow.metaflow_config_funcs import from_conf

from metaflow_extensions.envs.plugins.envs import settings_table as _table


def _registered_default(setting: "_table.Setting"):
    if isinstance(setting.parser, _table.Json):
        return None
    if isinstance(setting.parser, _table.Flag):  # Metaflow's debug options test it for truth
        return setting.parser(setting.default)
    return setting.default


for _setting in _table.SETTINGS:
    if _setting.forwarded:
        globals()[_setting.name] = from_conf(_setting.name, _registered_default(_setting))
del _setting, _registered_default
