"""The HTTP edge: auth, RFC 9457 problems, routes (the app factory is ``entrypoints/app.py``)."""
