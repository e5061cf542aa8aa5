"""The relay: claims unpublished outbox rows and publishes them to the Redis stream."""
