"""intel store: see tables.py."""
