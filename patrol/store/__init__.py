"""Storage: schema, named migrations and repository functions (SQLite default)."""
