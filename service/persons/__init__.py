"""A person's poverty status: registry, then cache-warmed registry answers, then the roster
snapshot, then `unknown` with the reason."""
