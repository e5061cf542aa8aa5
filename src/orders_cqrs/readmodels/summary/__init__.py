"""The Redis order summary: key layout, the Lua projection, readers and its generations."""
