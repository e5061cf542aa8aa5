"""The query side: read models only, each answer stamped with its freshness."""
