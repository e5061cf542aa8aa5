"""What goes wrong that is not an order rule: stores that cannot serve, refused queries and
admin requests, and how long to wait before trying a store again."""
