"""Stream consumers: the Client360 read model, the graph committer and the table sinks.

Each keeps its Kafka offsets in its own SQL database, written in the same transaction as
the rows those offsets produced; see consumers/README.md for what lives where.
"""
