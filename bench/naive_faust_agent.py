"""bench/gateway.py's naive baseline: a faust agent forwarding each record with `await send()`.

    python bench/naive_faust_agent.py SOURCE TARGET PARTITIONS  (Kafka: KAFKA_BOOTSTRAP_SERVERS)

Plain faust settings except a short session timeout (so the group join does not dominate on
Tansu); the fetch wait is left at faust's default, as a naive agent would have it.
"""

from __future__ import annotations

import os
import sys
import tempfile

import faust


def main() -> None:
    source, target, partitions = sys.argv[1], sys.argv[2], int(sys.argv[3])
    bootstrap = os.environ["KAFKA_BOOTSTRAP_SERVERS"]
    app = faust.App(
        f"naive-{source}",
        broker=f"kafka://{bootstrap}",
        store="memory://",
        web_enabled=False,
        topic_disable_leader=True,
        topic_partitions=partitions,
        broker_session_timeout=6,
        broker_heartbeat_interval=2,
        consumer_auto_offset_reset="earliest",
        datadir=tempfile.mkdtemp(prefix="naive-faust-"),
    )
    src = app.topic(
        source, key_type=bytes, value_type=bytes, key_serializer="raw", value_serializer="raw"
    )
    dst = app.topic(
        target, key_type=bytes, value_type=bytes, key_serializer="raw", value_serializer="raw"
    )

    @app.agent(src)
    async def forward(stream):  # type: ignore[no-untyped-def]
        async for event in stream.events():
            await dst.send(key=event.key, value=event.value, headers=event.headers)

    worker = faust.Worker(app, loglevel="warn", quiet=True, redirect_stdouts=False)
    worker.execute_from_commandline()


if __name__ == "__main__":
    main()
