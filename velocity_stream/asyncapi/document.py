"""Builds the AsyncAPI 3.0 document from the catalog: the contract, for the contract's readers.

Channels are topics; messages carry the Avro schema of the latest version of each major
(AsyncAPI's Avro schema format); operations say who sends and who receives, straight from
the catalog's producers and consumers. Nothing here is written by hand, so it cannot drift.
"""

from __future__ import annotations

from typing import Any

from velocity_stream import __version__
from velocity_stream.contracts.catalog import Catalog, Family

AVRO_FORMAT = "application/vnd.apache.avro+json;version=1.9.0"
KAFKA_BINDING_VERSION = "0.5.0"

Document = dict[str, Any]


def _channel_id(topic: str) -> str:
    return topic.replace(".", "_").replace("-", "_")


def _message_id(family: Family, major: int) -> str:
    return f"{family.name}V{major}"


def _topic_channel(
    topic: str, description: str, partitions: int, message_ids: list[str]
) -> Document:
    return {
        "address": topic,
        "description": description,
        "messages": {mid: {"$ref": f"#/components/messages/{mid}"} for mid in message_ids},
        "bindings": {
            "kafka": {
                "topic": topic,
                "partitions": partitions,
                "bindingVersion": KAFKA_BINDING_VERSION,
            }
        },
    }


def _family_message(family: Family, major: int) -> Document:
    version = family.latest_of_major(major)
    return {
        "name": family.name,
        "title": f"{family.name} {version.version}",
        "summary": version.schema.get("doc", family.name),
        "contentType": "application/octet-stream",
        "headers": {
            "type": "object",
            "properties": {
                "velocity.artifact_type": {"type": "string", "const": family.name},
                "velocity.schema_version": {"type": "string"},
                "velocity.artifact_id": {"type": "string"},
                "velocity.trace_id": {"type": "string"},
            },
        },
        "payload": {"schemaFormat": AVRO_FORMAT, "schema": version.schema},
        "bindings": {
            "kafka": {
                "key": {"type": "string", "description": f"the artifact's `{family.key_field}`"},
                "schemaIdLocation": "payload",
                "schemaIdPayloadEncoding": "confluent",
                "bindingVersion": KAFKA_BINDING_VERSION,
            }
        },
        "x-velocity": {
            "key_field": family.key_field,
            "compatibility": family.compatibility.value,
            "route": family.route.value,
            "producers": list(family.producers),
            "consumers": list(family.consumers),
            "released_versions": [str(v.version) for v in family.versions if v.major == major],
        },
    }


def _gateway_message(name: str, summary: str) -> Document:
    return {"name": name, "summary": summary, "contentType": "application/octet-stream"}


def build_document(catalog: Catalog, topic_prefix: str, servers: str | None = None) -> Document:
    """The AsyncAPI 3.0 document for ``catalog`` with topics under ``topic_prefix``."""
    channels: Document = {}
    messages: Document = {}
    operations: Document = {}
    for family in catalog:
        for major in family.majors():
            mid = _message_id(family, major)
            messages[mid] = _family_message(family, major)
            ingress = family.ingress_topic(topic_prefix, major)
            accepted = family.accepted_topic(topic_prefix, major)
            channels[_channel_id(ingress)] = _topic_channel(
                ingress,
                f"{family.name} v{major} as produced, before the gateway checks it",
                family.partitions,
                [mid],
            )
            channels[_channel_id(accepted)] = _topic_channel(
                accepted,
                f"{family.name} v{major} accepted by the gateway",
                family.partitions,
                [mid],
            )
            for producer in family.producers:
                operations[f"{producer}_sends_{mid}"] = {
                    "action": "send",
                    "channel": {"$ref": f"#/channels/{_channel_id(ingress)}"},
                    "summary": f"{producer} publishes {family.name}",
                    "x-velocity-owner": producer,
                }
            for consumer in family.consumers:
                # The gateway reads what producers wrote; everyone else reads what it accepted.
                source = ingress if consumer == "gateway" else accepted
                operations[f"{consumer}_receives_{mid}"] = {
                    "action": "receive",
                    "channel": {"$ref": f"#/channels/{_channel_id(source)}"},
                    "summary": f"{consumer} reads {family.name}",
                }
    for family in catalog.internal.values():
        for major in family.majors():
            mid = _message_id(family, major)
            messages[mid] = _family_message(family, major)
            topic = family.ingress_topic(topic_prefix, major)
            channels[_channel_id(topic)] = _topic_channel(
                topic,
                f"{family.name} v{major}, written by {', '.join(family.producers)} directly "
                f"for {', '.join(family.consumers)} (internal: the gateway never reads it)",
                family.partitions,
                [mid],
            )
            for producer in family.producers:
                operations[f"{producer}_sends_{mid}"] = {
                    "action": "send",
                    "channel": {"$ref": f"#/channels/{_channel_id(topic)}"},
                    "summary": f"{producer} publishes {family.name}",
                    "x-velocity-owner": producer,
                }
            for consumer in family.consumers:
                operations[f"{consumer}_receives_{mid}"] = {
                    "action": "receive",
                    "channel": {"$ref": f"#/channels/{_channel_id(topic)}"},
                    "summary": f"{consumer} reads {family.name}",
                }
    gateway_topics = {
        catalog.approvals_topic(topic_prefix): (
            "PendingProposal",
            "proposals awaiting review (original bytes; header velocity.approval.state)",
        ),
        catalog.dead_letter_topic(topic_prefix): (
            "DeadLetter",
            "anything the gateway refused: original key, value and headers, "
            "plus velocity.dlq.* reason headers",
        ),
    }
    partitions = {spec.name: spec.partitions for spec in catalog.topic_specs(topic_prefix)}
    for topic, (name, summary) in gateway_topics.items():
        messages[name] = _gateway_message(name, summary)
        channels[_channel_id(topic)] = _topic_channel(topic, summary, partitions[topic], [name])
        operations[f"gateway_sends_{name}"] = {
            "action": "send",
            "channel": {"$ref": f"#/channels/{_channel_id(topic)}"},
            "summary": f"the gateway writes {name} messages",
        }
    document: Document = {
        "asyncapi": "3.0.0",
        "info": {
            "title": "Velocity Stream contracts",
            "version": __version__,
            "description": "Every artifact of Project Velocity as an Avro message on a versioned "
            "Kafka topic. Generated from avro_schemas/catalog.toml.",
        },
        "defaultContentType": "application/octet-stream",
        "channels": channels,
        "operations": operations,
        "components": {"messages": messages},
    }
    if servers:
        document["servers"] = {
            "kafka": {"host": servers, "protocol": "kafka", "description": "bootstrap servers"}
        }
    return document
