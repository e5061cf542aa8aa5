"""The read models: a store-agnostic engine, rebuild and port here, one package per read model.

Each read model's package holds its projection, its reader and its layout (keys, index or
schema), so that the side that writes a read model and the side that reads it share one
definition of what is stored where.
"""
