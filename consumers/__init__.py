"""Stream consumers: the Client360 read model and the graph committer.

Both keep their Kafka offsets in their own SQL database, written in the same transaction as
the rows those offsets produced; see consumers/README.md for what lives where.
"""
