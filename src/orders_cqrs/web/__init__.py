"""The support console: server-rendered pages for people, over the same reads and commands."""
