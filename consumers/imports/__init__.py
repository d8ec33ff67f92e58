"""imports store: see tables.py."""
