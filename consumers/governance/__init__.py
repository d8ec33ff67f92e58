"""governance store: see tables.py."""
