"""The dead letters and the replay audit log, read as snapshots through the group-less
:class:`~velocity_stream.kafka.reader.TopicReader`: every partition from its first offset up
to the end it had when the read reached it, nothing committed, so reading the dead letters
changes nothing for anyone.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping

from velocity_stream.contracts.catalog import Catalog, Family
from velocity_stream.dlq.audit import AuditLog
from velocity_stream.dlq.filters import DeadLetterFilter
from velocity_stream.dlq.records import DeadLetter, parse_dead_letter
from velocity_stream.kafka.reader import TopicReader
from velocity_stream.serde.avro import AvroSerde

log = logging.getLogger(__name__)


def read_dead_letters(
    reader: TopicReader,
    topic: str,
    ingress: Mapping[str, tuple[Family, int]],
    selection: DeadLetterFilter | None = None,
    *,
    limit: int | None = None,
    on_record: Callable[[int], None] | None = None,
) -> list[DeadLetter]:
    """The dead letters of ``topic`` that pass ``selection``, at most ``limit`` of them."""
    found: list[DeadLetter] = []
    if limit is not None and limit <= 0:
        return found
    for record in reader.read_all(topic, on_record=on_record):
        dead_letter = parse_dead_letter(record, ingress)
        if selection is None or selection.matches(dead_letter):
            found.append(dead_letter)
            if limit is not None and len(found) >= limit:
                break
    return found


def read_audit_log(reader: TopicReader, topic: str, serde: AvroSerde, catalog: Catalog) -> AuditLog:
    """Every replay audit record; an empty log when the audit topic does not exist yet."""
    if not reader.exists(topic):
        return AuditLog(())
    log_ = AuditLog.from_records(reader.read_all(topic), serde, catalog)
    if log_.unreadable:
        log.warning("%s: %d records are not audit records; ignored", topic, log_.unreadable)
    return log_
