"""Decision analysis over the engine: how sure the pick is, and what would change it."""
