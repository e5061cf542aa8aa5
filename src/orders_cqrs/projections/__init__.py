"""Projections: a store-agnostic engine and one module per read model."""
