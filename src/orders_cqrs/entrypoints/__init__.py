"""The process entry points: the CLI, the app factory and the long-running workers."""
