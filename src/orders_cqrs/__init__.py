"""orders-cqrs: checkout commands on one PostgreSQL write truth, reads from projections."""
