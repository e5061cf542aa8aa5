"""The HTTP edge: FastAPI app, auth, RFC 9457 problems, routes."""
