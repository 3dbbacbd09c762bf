"""Being built: see docs/architecture.md for the owner and contract."""
