"""The support console and the ops page: server-rendered pages for people, over the same
reads and commands as the API."""
