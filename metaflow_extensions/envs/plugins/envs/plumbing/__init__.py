"""What several stages use (package cache, downloads, the uv/rattler/interpreter runners); imports no stage."""
