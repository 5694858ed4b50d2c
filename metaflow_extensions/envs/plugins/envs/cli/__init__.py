"""The library behind the command lines (`metaflow environment ...` in cmd/ and the flow-level
`environment` group in integration/flow_cli.py): one small module per job — argument checks (args), ENV references (refs), the JSON document (document), the
human `show` (render), resolve/create orchestration with progress (resolving, creating,
progress), exports (exports/), diff, list (listing), gc, Jupyter kernels (notebook) and code
packages (code_package). None of it imports click, Metaflow or integration/: what needs Metaflow
(the Metaflow client, Metaflow's pinned libraries) the caller in cmd/ passes in
(tests/unit/test_layers.py)."""
