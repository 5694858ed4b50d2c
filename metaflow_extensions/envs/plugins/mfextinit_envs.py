"""Registration of metaflow-envs with Metaflow (decorators, environments and CLI come with
the Metaflow integration; the engine under plugins/envs/ works without them)."""
STEP_DECORATORS_DESC = []
FLOW_DECORATORS_DESC = []
ENVIRONMENTS_DESC = []
CLIS_DESC = []
