"""What the faust adapter (faust_app.py) relies on that faust, mode and aiokafka do not promise.

An inventory, kept beside the adapter so that an upgrade of the three packages is checked
name by name (tests/unit/gateway_runtime/test_faust_surface.py) rather than found broken at
run time. Plain data: nothing here imports faust.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FaustInternal:
    """One name of faust, mode or aiokafka faust_app.py uses that is not their public API.

    ``target`` is ``module:Class.attribute`` as faust_app.py reaches it (the class it
    subclasses or the object it holds), ``kind`` says how it is used:

    - ``override``: our subclass's method ``ours`` replaces it; faust (or mode) calls it, with
      parameters ``params`` (``self`` included);
    - ``call``: we call it, with parameters ``params``;
    - ``attribute``: we read or write it on an instance faust builds (or on the class);
    - ``mirror``: our code does what this method does without calling it (``source_sha256``
      pins the version it was written against).

    ``source_sha256`` is the hash of faust's own source of a method our code copies.
    tests/unit/gateway_runtime/test_faust_surface.py checks every entry against the installed
    packages; pyproject.toml pins them to the versions it passed on.
    """

    target: str
    kind: str
    use: str
    params: tuple[str, ...] = ()
    ours: str = ""
    source_sha256: str = ""


_HERE = "velocity_stream.gateway.faust_app"
_AIOKAFKA_DRIVER = "faust.transport.drivers.aiokafka"

# Every name with a leading underscore faust_app.py uses, then the public-looking names whose
# meaning here depends on faust's internals (who calls them, what faust reads them for).
FAUST_INTERNALS: tuple[FaustInternal, ...] = (
    FaustInternal(
        f"{_AIOKAFKA_DRIVER}:AIOKafkaConsumerThread._create_worker_consumer",
        "override",
        "builds the aiokafka consumer; ours sets its fetch wait after faust's hard-coded 1500 ms",
        params=("self", "transport"),
        ours=f"{_HERE}:_FetchWaitConsumerThread._create_worker_consumer",
    ),
    FaustInternal(
        "aiokafka:AIOKafkaConsumer._fetch_max_wait_ms",
        "attribute",
        "the fetch wait, replaced before start() (which builds the Fetcher from it) by "
        "Settings.fetch_wait_max_ms",
    ),
    FaustInternal(
        f"{_AIOKAFKA_DRIVER}:Consumer._new_consumer_thread",
        "override",
        "makes the consumer thread; ours makes _FetchWaitConsumerThread",
        params=("self",),
        ours=f"{_HERE}:_BatchConsumer._new_consumer_thread",
    ),
    FaustInternal(
        f"{_AIOKAFKA_DRIVER}:Consumer._drain_messages",
        "override",
        "faust's fetch loop; ours is a copy that hands ingress records to the sink per fetch",
        params=("self", "fetcher"),
        ours=f"{_HERE}:_BatchConsumer._drain_messages",
        source_sha256="44a2500309e83c630493f6828af50166ec8d96a0b3e4fb2bab735f704ae93417",
    ),
    FaustInternal(
        f"{_AIOKAFKA_DRIVER}:Consumer.getmany",
        "mirror",
        "faust's per-record fetch step; the drain's _step does what it does (flow, generation "
        "and active-partition checks, the end-offset monitor) a partition of a fetch at a time, "
        "and gives what it does not route back to the consumer (runtime/rewind.py) instead of "
        "dropping it",
        source_sha256="4b168d84882a70d6e3e2f9804430a63b92f8fd117d3187cbb4aeb54305bda34e",
    ),
    FaustInternal(
        f"{_AIOKAFKA_DRIVER}:Consumer._wait_next_records",
        "call",
        "the fetch step fetches with it: (records, the live set of active partitions)",
        params=("self", "timeout"),
    ),
    FaustInternal(
        f"{_AIOKAFKA_DRIVER}:Consumer._to_message",
        "call",
        "the fetch step turns each record of other topics (changelogs) into a faust Message",
        params=("self", "tp", "record"),
    ),
    FaustInternal(
        f"{_AIOKAFKA_DRIVER}:Consumer.flow_active",
        "attribute",
        "false from the start of a rebalance until recovery resumes the flow: the fetch step "
        "routes nothing fetched meanwhile",
    ),
    FaustInternal(
        f"{_AIOKAFKA_DRIVER}:Consumer._buffered_partitions",
        "attribute",
        "partitions faust still routes while not active (full buffers); the fetch step "
        "routes them as faust's does",
    ),
    FaustInternal(
        f"{_AIOKAFKA_DRIVER}:Consumer._thread",
        "attribute",
        "the consumer thread (_FetchWaitConsumerThread) the fetch step asks to rewind",
    ),
    FaustInternal(
        "faust:App.consumer_generation_id",
        "attribute",
        "the group generation faust last saw; a record fetched in another one is not routed",
    ),
    FaustInternal(
        f"{_AIOKAFKA_DRIVER}:AIOKafkaConsumerThread._fetch_records",
        "override",
        "runs aiokafka's fetched_records on the consumer thread; ours also notes the "
        "assignment the records were fetched under (FetchedRecords)",
        params=("self", "consumer", "active_partitions", "timeout", "max_records"),
        ours=f"{_HERE}:_FetchWaitConsumerThread._fetch_records",
    ),
    FaustInternal(
        f"{_AIOKAFKA_DRIVER}:AIOKafkaConsumerThread.call_thread",
        "call",
        "runs the rewind on the consumer thread's loop (aiokafka is not thread-safe)",
        params=("self", "fun", "args", "kwargs"),
    ),
    FaustInternal(
        f"{_AIOKAFKA_DRIVER}:AIOKafkaConsumerThread._ensure_consumer",
        "call",
        "the aiokafka consumer, for the assignment check and the seeks of the rewind",
        params=("self",),
    ),
    FaustInternal(
        "aiokafka:AIOKafkaConsumer._subscription",
        "attribute",
        "its SubscriptionState: the current Assignment is read from it (runtime/rewind.py)",
    ),
    FaustInternal(
        "aiokafka.consumer.subscription_state:SubscriptionState.subscription",
        "attribute",
        "the current Subscription, holding the current Assignment",
    ),
    FaustInternal(
        "aiokafka.consumer.subscription_state:Subscription.assignment",
        "attribute",
        "the current Assignment: a new object for every assignment, so identity tells whether "
        "records were fetched under the current one",
    ),
    FaustInternal(
        "aiokafka.consumer.subscription_state:Assignment.active",
        "attribute",
        "false once the assignment was replaced or the consumer unsubscribed: nothing to rewind",
    ),
    FaustInternal(
        "aiokafka.consumer.subscription_state:Assignment.state_value",
        "call",
        "a partition's TopicPartitionState in the assignment, for its position",
        params=("self", "tp"),
    ),
    FaustInternal(
        "aiokafka.consumer.subscription_state:TopicPartitionState._position",
        "attribute",
        "a partition's position (None while it waits for a committed offset or a reset): the "
        "rewind skips a partition sought since the fetch",
    ),
    FaustInternal(
        f"{_AIOKAFKA_DRIVER}:Consumer._read_offset",
        "attribute",
        "the drain copy skips records below each partition's read offset and advances it",
    ),
    FaustInternal(
        f"{_AIOKAFKA_DRIVER}:Consumer._unacked_messages",
        "attribute",
        "faust waits for it to empty before a rebalance or a stop: the drain copy adds each "
        "fetched batch (_Fetched) as one entry; ack_fetched and forget_fetched take it out",
    ),
    FaustInternal(
        f"{_AIOKAFKA_DRIVER}:Consumer._acked",
        "attribute",
        "acked offsets per partition, which commit reads up to the first gap: ack_fetched "
        "appends a batch's offsets as Consumer.ack appends one",
    ),
    FaustInternal(
        f"{_AIOKAFKA_DRIVER}:Consumer._acked_index",
        "attribute",
        "the set view of _acked that Consumer.ack checks for offsets acked twice",
    ),
    FaustInternal(
        f"{_AIOKAFKA_DRIVER}:Consumer._waiting_for_ack",
        "attribute",
        "the future wait_empty arms; ack_fetched wakes it as Consumer.ack does",
    ),
    FaustInternal(
        "faust.types.tuples:ack_lock",
        "attribute",
        "the lock Consumer.ack holds over its bookkeeping; ack_fetched holds it too",
    ),
    FaustInternal(
        f"{_AIOKAFKA_DRIVER}:Consumer._committed_offset",
        "attribute",
        "faust's last committed offset per partition, told to the expiry gate (_observe_backlog)",
    ),
    FaustInternal(
        f"{_AIOKAFKA_DRIVER}:Consumer._commit_every",
        "attribute",
        "the drain copy commits after this many acks (broker_commit_every), as faust's does",
    ),
    FaustInternal(
        f"{_AIOKAFKA_DRIVER}:Consumer._n_acked",
        "attribute",
        "acks since the last commit: the drain copy compares it with _commit_every and resets it",
    ),
    FaustInternal(
        f"{_AIOKAFKA_DRIVER}:Consumer._add_gap",
        "call",
        "the drain copy records an offset gap (compacted or aborted records) as faust's does",
        params=("self", "tp", "offset_from", "offset_to"),
    ),
    FaustInternal(
        f"{_AIOKAFKA_DRIVER}:Consumer._stopped",
        "attribute",
        "mode Service's stopped event: the drain copy loops until the consumer's or the "
        "fetcher's is set",
    ),
    FaustInternal(
        "faust:App._new_transport",
        "override",
        "makes the consumer transport; ours makes _Transport (Consumer = _BatchConsumer)",
        params=("self",),
        ours=f"{_HERE}:GatewayApp._new_transport",
    ),
    FaustInternal(
        "faust.tables.table:Table._verify_source_topic_partitions",
        "call",
        "faust's check that an input topic and the changelog have one partition count, called "
        "by _context_partition since the batch path has no faust event to trigger it",
        params=("self", "source_topic"),
    ),
    FaustInternal(
        "faust:Worker._schedule_shutdown",
        "override",
        "mode's handler of a stop signal; ours arms the shutdown deadline first",
        params=("self", "signal"),
        ours=f"{_HERE}:_Worker._schedule_shutdown",
    ),
    FaustInternal(
        "faust:Worker._repr_name",
        "override",
        "the worker's name in log lines; ours keeps '[^Worker]: Ready' that tools wait for",
        params=("self",),
        ours=f"{_HERE}:_Worker._repr_name",
    ),
    # Public spelling, internal meaning.
    FaustInternal(
        f"{_AIOKAFKA_DRIVER}:Consumer.highwaters",
        "override",
        "only faust's table recovery (Recovery._build_highwaters) asks; ours answers with the "
        "fetch-response ends of runtime/recovery.py instead of ListOffsets",
        params=("self", "partitions"),
        ours=f"{_HERE}:_BatchConsumer.highwaters",
    ),
    FaustInternal(
        "faust.tables.table:Table.partition_for_key",
        "override",
        "faust's changelog partition of a written key; ours is the current input's partition",
        params=("self", "key"),
        ours=f"{_HERE}:_ContextTable.partition_for_key",
    ),
    FaustInternal(
        "faust.tables.manager:TableManager.recovery",
        "attribute",
        "app.tables.recovery: the sweep and the pending recount skip while it recovers",
    ),
    FaustInternal(
        "faust.tables.recovery:Recovery.in_recovery",
        "attribute",
        "app.tables.recovery.in_recovery: true while tables are being recovered",
    ),
    FaustInternal(
        f"{_AIOKAFKA_DRIVER}:Transport.Consumer",
        "attribute",
        "the consumer class the transport builds; _Transport sets it to _BatchConsumer",
    ),
)
