"""Staff accounts: the people who sign in to the support and ops consoles."""
