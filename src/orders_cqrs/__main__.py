"""``python -m orders_cqrs`` runs the CLI."""

from orders_cqrs.cli import app

app()
