"""The gateway's output path: produce a batch's records with librdkafka and learn when all landed.

faust's own producer (aiokafka) costs ~100 us a message in the worker; confluent-kafka queues a
record in a few microseconds and batches on its own threads. A :class:`DeliveryBarrier` per
batch counts the broker's acknowledgements, so the adapter acks the batch's input offsets only
once every output is stored (acks=all): at-least-once, never ahead of the outputs.

A record refused as too large (librdkafka's own ``message.max.bytes`` check when queueing it,
or the broker's ``max.message.bytes`` in its delivery report) is not a reason to stop: the
producer asks its stand-in function (the batch processor's) for a smaller record to send in
its place, a dead letter, and the barrier resolves once that one is stored. Only a record with
no stand-in fails the batch.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping, Sequence

from confluent_kafka import KafkaError, KafkaException, Message

from velocity_stream.errors import VelocityError
from velocity_stream.gateway.messages import OutboundMessage
from velocity_stream.kafka.client_logs import librdkafka_logger
from velocity_stream.kafka.clients import new_producer
from velocity_stream.settings import Settings

log = logging.getLogger(__name__)
librdkafka_log = librdkafka_logger("velocity_stream.gateway.librdkafka")

# How often delivery reports are served while some batch waits for them. Reports are served
# on the event loop (no poller thread competing for the GIL); 1 ms bounds the added latency.
SERVE_INTERVAL_S = 0.001
# A full local queue is waited out this long before the worker gives up (the broker is gone).
QUEUE_FULL_TIMEOUT_S = 120.0
QUEUE_FULL_WAIT_S = 0.005

# Outputs are deterministic and consumers deduplicate, so the producer favours throughput:
# large batches, a 1 ms linger (batches fill under load anyway), lz4. librdkafka's
# idempotence stays on (it keeps a retried batch from being written twice); acks=all with it.
OUTPUT_OVERRIDES: Mapping[str, str | int | float | bool] = {
    "linger.ms": 1,
    # An output is an input plus a few headers: librdkafka must never refuse locally what the
    # broker accepted as input (its 1 MB default would stop the worker on every large record,
    # over and over); the broker's own limit is the only one that applies.
    "message.max.bytes": 200_000_000,
    "queue.buffering.max.messages": 500_000,
    "queue.buffering.max.kbytes": 1_048_576,
}


# Error codes by which librdkafka (locally) or the broker refuses a record for its size.
TOO_LARGE_CODES = frozenset({KafkaError.MSG_SIZE_TOO_LARGE, KafkaError.RECORD_LIST_TOO_LARGE})

# What to send in place of a record refused as too large (and why it was refused); None when
# nothing can stand in for it.
StandIn = Callable[[OutboundMessage, str], "OutboundMessage | None"]
# Called by a barrier whose refused records need stand-ins before it can resolve.
Resend = Callable[["DeliveryBarrier", list[tuple[OutboundMessage, str]]], None]


class OutputDeliveryError(VelocityError):
    """The broker refused an output after librdkafka's retries; the batch is not acked."""


def is_too_large(error: object) -> bool:
    """True for a KafkaError that refuses a record for its size (locally or by the broker)."""
    return isinstance(error, KafkaError) and error.code() in TOO_LARGE_CODES


class DeliveryBarrier:
    """Counts the acknowledgements of one batch's outputs; ``done`` resolves when all are in.

    ``on_delivery`` is handed to librdkafka for every output of the batch (a bound method: no
    closure per message). Delivery reports are served on the event loop, so the future is
    resolved in its own thread.

    With ``resend`` set, an output the broker refused as too large does not fail the batch: it
    is looked up among ``outputs`` (by topic, key and value; only on this rare path) and, once
    every report is in, handed to ``resend`` with the others, which queues stand-ins under the
    same barrier and seals it again.
    """

    __slots__ = (
        "_claimed",
        "done",
        "error",
        "expected",
        "outputs",
        "received",
        "refused",
        "resend",
        "sealed",
    )

    def __init__(self, loop: asyncio.AbstractEventLoop, resend: Resend | None = None) -> None:
        self.done: asyncio.Future[None] = loop.create_future()
        self.expected = 0
        self.received = 0
        self.sealed = False
        self.error: KafkaError | None = None
        self.resend = resend
        # Everything queued under this barrier, kept only when refusals can be resent.
        self.outputs: list[OutboundMessage] = []
        self.refused: list[tuple[OutboundMessage, str]] = []
        self._claimed: set[int] = set()

    def on_delivery(self, error: KafkaError | None, message: Message) -> None:
        self.received += 1
        if error is not None:
            resent = (
                self.resend is not None and is_too_large(error) and self._refuse(error, message)
            )
            if not resent and self.error is None:
                self.error = error
                log.error("output to %s was not stored: %s", message.topic(), error)
        # Called for every output: only the last report of a sealed batch can resolve it.
        if self.sealed and self.received >= self.expected:
            self.check()

    def _refuse(self, error: KafkaError, message: Message) -> bool:
        """Note the queued output ``message`` reports on as refused; False if none matches."""
        topic, key, value = message.topic(), message.key(), message.value()
        for output in self.outputs:
            if (
                output.topic == topic
                and output.key == key
                and output.value == value
                and id(output) not in self._claimed
            ):
                self._claimed.add(id(output))
                self.refused.append((output, error.str()))
                return True
        return False

    def check(self) -> None:
        """Resolve ``done`` once sealed and every expected report is in."""
        if self.done.done() or not self.sealed or self.received < self.expected:
            return
        if self.error is not None:
            self.done.set_exception(OutputDeliveryError(f"an output was not stored: {self.error}"))
        elif self.refused and self.resend is not None:
            refused, self.refused = self.refused, []
            # Not complete until the stand-ins are stored: the resend seals it again.
            self.sealed = False
            self.resend(self, refused)
        else:
            self.done.set_result(None)


class OutputProducer:
    """One confluent-kafka producer for every output of the worker, served on the event loop."""

    def __init__(
        self,
        settings: Settings,
        *,
        client_id: str | None = None,
        overrides: Mapping[str, str | int | float | bool] | None = None,
    ) -> None:
        options = dict(OUTPUT_OVERRIDES)
        options.update(overrides or {})
        self._producer = new_producer(
            settings,
            client_id=client_id or f"{settings.client_id}-gateway",
            overrides=options,
            on_error=self._on_error,
            logger=librdkafka_log,
        )
        self._pending: set[DeliveryBarrier] = set()
        self._wake = asyncio.Event()
        self._fatal: KafkaError | None = None
        self._server: asyncio.Task[None] | None = None
        self._stand_in: StandIn | None = None
        self._resends: set[asyncio.Task[None]] = set()

    def on_too_large(self, stand_in: StandIn) -> None:
        """Send ``stand_in(output, why)`` in place of an output refused as too large."""
        self._stand_in = stand_in

    # --- lifecycle -------------------------------------------------------------------------

    def start(self) -> None:
        """Start serving delivery reports on the running loop."""
        if self._server is None:
            self._server = asyncio.get_running_loop().create_task(self._serve())

    async def drain(self, timeout: float = 30.0) -> int:
        """Serve reports until nothing is queued or ``timeout`` passes; what is left."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while len(self._producer) and loop.time() < deadline:
            # Reports are served here, on the loop, so barriers resolve in their own thread.
            self._producer.poll(0)
            await asyncio.sleep(0.01)
        return len(self._producer)

    # --- producing -------------------------------------------------------------------------

    def barrier(self) -> DeliveryBarrier:
        resend = self._resend if self._stand_in is not None else None
        return DeliveryBarrier(asyncio.get_running_loop(), resend)

    async def send(self, outputs: Sequence[OutboundMessage], barrier: DeliveryBarrier) -> None:
        """Queue ``outputs`` under ``barrier``; waits only while librdkafka's queue is full.

        An output librdkafka refuses locally as too large is replaced by its stand-in here.
        """
        if self._fatal is not None:
            raise OutputDeliveryError(f"the producer failed: {self._fatal}")
        produce = self._producer.produce
        on_delivery = barrier.on_delivery
        if barrier.resend is not None:
            barrier.outputs.extend(outputs)
        for output in outputs:
            headers = output.headers
            try:
                # librdkafka takes a list (or a dict, which would drop repeated names).
                produce(
                    output.topic,
                    output.value,
                    output.key,
                    headers=list(headers) if headers else None,
                    on_delivery=on_delivery,
                )
            except (BufferError, KafkaException):
                # A full queue or a record refused locally: the careful path, rarely taken.
                await self._queue(output, barrier)
            barrier.expected += 1

    async def _queue(self, output: OutboundMessage, barrier: DeliveryBarrier) -> None:
        """Queue ``output`` (or its stand-in) under ``barrier``, waiting while the queue is full."""
        waited = 0.0
        while True:
            headers: list[tuple[str, str | bytes | None]] | None = (
                list(output.headers) if output.headers else None
            )
            try:
                self._producer.produce(
                    output.topic,
                    value=output.value,
                    key=output.key,
                    headers=headers,
                    on_delivery=barrier.on_delivery,
                )
                return
            except BufferError:
                # librdkafka's local queue is full: let delivery reports make room.
                if waited > QUEUE_FULL_TIMEOUT_S:
                    raise OutputDeliveryError(
                        "librdkafka's queue stayed full: is the broker reachable?"
                    ) from None
                self._producer.poll(0)
                await asyncio.sleep(QUEUE_FULL_WAIT_S)
                waited += QUEUE_FULL_WAIT_S
            except KafkaException as error:
                stand_in = self._stand_in_for(output, error.args[0])
                if stand_in is None:
                    raise OutputDeliveryError(
                        f"cannot queue an output to {output.topic}: {error.args[0]}"
                    ) from None
                output = stand_in
                if barrier.resend is not None:
                    barrier.outputs.append(output)

    def _stand_in_for(self, output: OutboundMessage, error: object) -> OutboundMessage | None:
        if self._stand_in is None or not is_too_large(error):
            return None
        assert isinstance(error, KafkaError)
        return self._stand_in(output, error.str())

    def _resend(self, barrier: DeliveryBarrier, refused: list[tuple[OutboundMessage, str]]) -> None:
        # Called from a delivery report, on the loop: queueing may have to wait, so in a task.
        task = asyncio.get_running_loop().create_task(self._send_stand_ins(barrier, refused))
        self._resends.add(task)
        task.add_done_callback(self._resends.discard)

    async def _send_stand_ins(
        self, barrier: DeliveryBarrier, refused: list[tuple[OutboundMessage, str]]
    ) -> None:
        try:
            stand_ins: list[OutboundMessage] = []
            for output, why in refused:
                stand_in = self._stand_in(output, why) if self._stand_in is not None else None
                if stand_in is None:
                    raise OutputDeliveryError(
                        f"the broker refused an output to {output.topic} as too large ({why}) "
                        "and no smaller record can stand in for it"
                    )
                stand_ins.append(stand_in)
            await self.send(stand_ins, barrier)
        except Exception as error:  # any failure here fails the batch, never silently
            if not isinstance(error, OutputDeliveryError):
                error = OutputDeliveryError(f"stand-ins were not queued: {error!r}")
            if not barrier.done.done():
                barrier.done.set_exception(error)
            return
        self.seal(barrier)

    def seal(self, barrier: DeliveryBarrier) -> asyncio.Future[None]:
        """Mark the batch complete; the returned future resolves when every output is stored."""
        barrier.sealed = True
        barrier.check()
        if not barrier.done.done():
            self._pending.add(barrier)
            barrier.done.add_done_callback(lambda _: self._pending.discard(barrier))
            # Serve reports that are already in before the loop's next sleep.
            self._producer.poll(0)
            self._wake.set()
        return barrier.done

    @property
    def in_flight(self) -> int:
        return sum(b.expected - b.received for b in self._pending)

    # --- serving delivery reports ----------------------------------------------------------

    async def _serve(self) -> None:
        poll = self._producer.poll
        while True:
            if not self._pending:
                self._wake.clear()
                await self._wake.wait()
            poll(0)
            await asyncio.sleep(SERVE_INTERVAL_S)

    def _on_error(self, error: KafkaError) -> None:
        if error.fatal():
            self._fatal = error
            log.error("output producer fatal error: %s", error)
        else:
            log.warning("output producer error: %s", error)
