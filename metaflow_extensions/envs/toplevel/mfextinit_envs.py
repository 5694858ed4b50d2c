"""Names metaflow-envs adds to `metaflow` itself (Metaflow's `toplevel` extension point)."""
toplevel = "envs_toplevel"
