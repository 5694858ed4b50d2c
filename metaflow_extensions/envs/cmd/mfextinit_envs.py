"""Registration of the top-level `metaflow environment` command."""
CMDS_DESC = [("environment", ".environment_cmd.cli")]
