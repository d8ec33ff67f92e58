"""The imports store: raw batches, rows with every cell indexed, mapping manifests with every
column's fate, and conflicting copies (a sink consumer: docs/stores.md). ``queries.py`` holds
the questions other parts ask of it."""
