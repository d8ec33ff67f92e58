"""Console tools: ``produce`` (JSON lines in, validated Avro out) and ``tail`` (records out as
JSON lines), what kcat and kafka-console-* give, but aware of the contract catalog.

The CLI (velocity_stream/cli/console_cmd.py) imports these modules only when a command runs:
they pull in the Kafka client, fastavro and the contract models.
"""
