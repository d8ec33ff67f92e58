"""The gateway's pure core: one input message plus state in, one routing outcome out.

Stages, in order (each refusal names its stage in the reason code):

1. decode   - Confluent-framed Avro, writer schema by id, resolved to the topic's major;
2. contract - the family's pydantic model and its rules;
3. key and auth - the Kafka key is the family's key field (UTF-8) for every family,
   ``source_system`` is an allowed producer of the family (headers are never trusted), and a
   record of the decision-route family carries a valid signature by a key of that producer
   (velocity_stream/trust, docs/security.md);
4. state    - the catalog's stateful rules (rules.py, approvals.py);
5. route    - accepted topic, approvals topic, commit record, or dead letter.

:meth:`Pipeline.process` never raises: an unexpected exception becomes a dead letter with
``internal.unexpected_error`` and the traceback is logged. No Kafka client is imported here;
velocity_stream/gateway/faust_app.py (and memory_runner.py in tests) move the bytes.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection
from typing import Any

from velocity_stream.contracts.catalog import Catalog, Route
from velocity_stream.contracts.upgrades import mapping_for
from velocity_stream.errors import ContractError, ReasonCode, RegistryError, SerdeError
from velocity_stream.gateway.approvals import Approvals
from velocity_stream.gateway.holding import Holding
from velocity_stream.gateway.messages import Outcome
from velocity_stream.gateway.outputs import OutputBuilder, dead_letter_outcome
from velocity_stream.gateway.routes import GatewayRoutes, ModelLookup, TopicPlan
from velocity_stream.gateway.rules import Checked, StatefulRules
from velocity_stream.gateway.state import GatewayState
from velocity_stream.protocol.records import InboundMessage
from velocity_stream.serde.avro import AvroSerde
from velocity_stream.trust import KeyRing, SigningKey

log = logging.getLogger(__name__)


class Pipeline:
    """Validates and routes one message at a time against a catalog; holds no state itself.

    ``clock`` (epoch milliseconds) only sets hold deadlines; nothing it returns reaches an
    output, so redelivered inputs give byte-identical outputs. Contract models come from the
    serde's model lookup, so decoding and routing always agree on the model of a family.

    ``verify_keys`` are the keys a decision may be signed with (none: every decision is
    refused); ``rule_signer`` signs the decisions the catalog's auto rules write.
    """

    def __init__(
        self,
        catalog: Catalog,
        serde: AvroSerde,
        topic_prefix: str,
        *,
        gateway_version: str,
        clock: Callable[[], int],
        verify_keys: KeyRing | None = None,
        rule_signer: SigningKey | None = None,
    ) -> None:
        lookup: ModelLookup = serde.model
        self.catalog = catalog
        self.serde = serde
        self.topic_prefix = topic_prefix
        self.gateway_version = gateway_version
        self.verify_keys = verify_keys if verify_keys is not None else KeyRing()
        self.routes = GatewayRoutes(
            catalog,
            topic_prefix,
            lookup,
            has_upgrade=lambda family, major: mapping_for(family, major) is not None,
        )
        self.out = OutputBuilder(self.routes, gateway_version)
        self.holding = Holding(self.out, catalog.gateway.decision_hold_ms, clock)
        approvals = Approvals(
            self.routes, self.out, self.holding, serde, lookup, signer=rule_signer
        )
        self.rules = StatefulRules(self.out, self.holding, approvals, serde)
        # Released inputs go through the same guarded entry point as any other.
        self.holding.reprocess = self.process
        # Looked up for every input: bound once.
        self._plan_of = self.routes.plan
        self._decode = self.serde.decode
        self._route = self.rules.route
        self._record_decoder = self._record_of

    def ingress_topics(self) -> tuple[str, ...]:
        """The topics to consume."""
        return self.routes.topics()

    def process(self, message: InboundMessage, state: GatewayState) -> Outcome:
        """Route one input. Never raises."""
        try:
            return self._process(message, state)
        except Exception as error:
            log.exception(
                "internal error on %s/%s@%s", message.topic, message.partition, message.offset
            )
            return self._internal(message, error)

    def expire(
        self, now_ms: int, state: GatewayState, partitions: Collection[int] | None = None
    ) -> list[Outcome]:
        """Held inputs past their deadline become dead letters (graph deltas whose decision
        is now approved are released instead). ``partitions`` limits the sweep to inputs
        from those partition numbers."""
        return self.holding.expire(now_ms, state, partitions)

    def _process(self, message: InboundMessage, state: GatewayState) -> Outcome:
        plan = self._plan_of(message.topic)
        if plan is None:
            return self._dead(
                message,
                ReasonCode.DECODE_UNKNOWN_TOPIC,
                f"topic {message.topic!r} is not an ingress topic of the catalog",
            )
        try:
            # One pass: the compiled reader builds the contract model and runs its rules;
            # a body it does not vouch for goes fastavro's way then pydantic's, so the
            # refusal (decode.* or contract.*) is the one the two passes would give.
            artifact = self._decode(message.value, plan.family, plan.major)
        except SerdeError as error:
            return self._dead(message, error.code, str(error))
        except RegistryError as error:
            return self._dead(message, ReasonCode.DECODE_REGISTRY_UNAVAILABLE, str(error))
        except ContractError as error:
            first = error.violations[0] if error.violations else None
            code = first.code if first else ReasonCode.CONTRACT_INVALID_FIELD
            return self._dead(message, code, str(error), first.path if first else "")
        family = plan.family
        key = str(getattr(artifact, family.key_field))
        if message.key != key.encode("utf-8"):
            return self._dead(
                message,
                ReasonCode.CONTRACT_KEY_MISMATCH,
                f"the message key {_shown_key(message.key)} must be the {family.key_field} "
                f"({key!r}) in UTF-8: partitioning, compaction and the gateway's state of "
                f"{family.name} go by it",
                family.key_field,
                artifact.artifact_id,
            )
        if not family.is_owned_by(artifact.source_system):
            return self._dead(
                message,
                ReasonCode.AUTH_NOT_OWNER,
                f"{artifact.source_system!r} is not an allowed producer of {family.name} "
                f"(allowed: {', '.join(family.producers)})",
                "source_system",
                artifact.artifact_id,
            )
        if family.route is Route.DECISION:
            refusal = self.verify_keys.verify(
                message.topic, message.key, message.value, message.headers, artifact.source_system
            )
            if refusal is not None:
                wrong_signer = refusal.code is ReasonCode.AUTH_DECISION_WRONG_SIGNER
                return self._dead(
                    message,
                    refusal.code,
                    refusal.message,
                    "source_system" if wrong_signer else "",
                    artifact.artifact_id,
                )
        return self._route(Checked(message, plan, artifact, key, self._record_decoder), state)

    def _record_of(self, message: InboundMessage, plan: TopicPlan) -> dict[str, Any]:
        """The reader-schema record of an input already decoded to its model: only the
        routes that digest content (tracked families, proposals, decisions) or upgrade it to
        the next major need it, so the accept route never builds it."""
        return self.serde.decode_record(message.value, plan.family, plan.major).record

    def _dead(
        self,
        message: InboundMessage,
        reason: ReasonCode,
        text: str,
        field: str = "",
        artifact_id: str | None = None,
    ) -> Outcome:
        return dead_letter_outcome(self.out, message, reason, text, field, artifact_id)

    def _internal(self, message: InboundMessage, error: Exception) -> Outcome:
        text = f"{type(error).__name__}: {error}"
        try:
            return self._dead(message, ReasonCode.INTERNAL_ERROR, text)
        except Exception:
            # The input itself is too broken to copy (e.g. headers that are not bytes):
            # dead-letter its bytes with our headers alone rather than lose it.
            log.exception("could not build the dead letter for %s", message.topic)
            bare = InboundMessage(
                topic=str(message.topic),
                partition=int(message.partition) if isinstance(message.partition, int) else -1,
                offset=int(message.offset) if isinstance(message.offset, int) else -1,
                key=message.key if isinstance(message.key, bytes) else None,
                value=message.value if isinstance(message.value, bytes) else None,
                headers=(),
                timestamp_ms=message.timestamp_ms if isinstance(message.timestamp_ms, int) else 0,
            )
            return self._dead(bare, ReasonCode.INTERNAL_ERROR, text)


def _shown_key(key: bytes | None) -> str:
    """The key as an operator can read it: text when it is UTF-8, else its bytes."""
    if key is None:
        return "(none)"
    try:
        return repr(key.decode("utf-8"))
    except UnicodeDecodeError:
        return f"{key[:64]!r} (not UTF-8)"
