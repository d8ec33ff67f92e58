"""The review app's moving parts, built from settings: topic tails feeding the views, the
validating producer that publishes decisions, the snapshot reader, and the HTTP server.

Start order: tails first (they rebuild the views from the start of their topics), then the
server; stop order is the reverse, and the producer is flushed last so no decision a reviewer
was told about (202) is left in a local queue.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Mapping
from enum import StrEnum
from types import TracebackType

import uvicorn

from velocity_stream.contracts.catalog import Catalog, load_catalog
from velocity_stream.errors import ConfigError
from velocity_stream.kafka.producer import ArtifactProducer
from velocity_stream.review.app import ReviewServices, create_app
from velocity_stream.review.auth import ReviewerDirectory
from velocity_stream.review.clients import (
    Client360Reader,
    SnapshotFeed,
    SnapshotFold,
    StoreClientReader,
)
from velocity_stream.review.consumer_groups import KafkaGroupReader
from velocity_stream.review.dead_letter_desk import KafkaDeadLetterDesk
from velocity_stream.review.deadletters import DeadLetterFeed, DeadLetterLog
from velocity_stream.review.decisions import REVIEW_APP_SOURCE, DecisionDesk, ProducerPublisher
from velocity_stream.review.lineage import LineageReader, StoreLineage
from velocity_stream.review.queue import ApprovalFeed, ApprovalQueue
from velocity_stream.review.tail import TopicTail
from velocity_stream.review.topic_browser import KafkaTopicBrowser
from velocity_stream.serde.avro import AvroSerde
from velocity_stream.settings import Settings
from velocity_stream.trust.config import review_signing_key

log = logging.getLogger(__name__)


class SnapshotSource(StrEnum):
    """Where the client pages read snapshots from."""

    STORE = "store"  # the Client360 consumer's SQL store (VELOCITY_STORE_URL)
    TOPIC = "topic"  # the snapshot family's accepted topic, folded in memory


def registry_serde(settings: Settings, catalog: Catalog) -> AvroSerde:
    """A serde whose schema ids come from the configured registry (cached)."""
    from velocity_stream.registry.client import RegistryClient, RegistrySchemaResolver

    resolver = RegistrySchemaResolver(RegistryClient.from_settings(settings))
    return AvroSerde(catalog, resolver, settings.topic_prefix)


def store_reader(settings: Settings) -> StoreClientReader:
    """Snapshots from the read-model store the Client360 consumer writes."""
    try:
        from sqlalchemy.exc import SQLAlchemyError

        from consumers.client360.store import Client360Store
        from consumers.storage import open_engine
    except ImportError as error:
        raise ConfigError(
            f"the read-model store cannot be read here ({error}); serve with --snapshots topic"
        ) from error
    return StoreClientReader(
        Client360Store(open_engine(settings.store_url)), unavailable=(SQLAlchemyError,)
    )


def store_lineage(settings: Settings) -> LineageReader | None:
    """Trails over the stores in VELOCITY_STORE_URL (tables without a prefix, as ``dev`` and
    the compose file run the workers); None where the consumers' code is not installed."""
    try:
        from sqlalchemy.exc import SQLAlchemyError

        from consumers.lineage import Lineage
        from consumers.storage import open_engine
    except ImportError as error:
        log.warning("lineage is not available here: %s", error)
        return None
    return StoreLineage(Lineage(open_engine(settings.store_url)), unavailable=(SQLAlchemyError,))


class ReviewRuntime:
    """Views, tails, producer and the FastAPI app over one Kafka and one catalog."""

    def __init__(
        self,
        settings: Settings,
        catalog: Catalog,
        serde: AvroSerde,
        *,
        snapshots: SnapshotSource | Client360Reader = SnapshotSource.STORE,
    ) -> None:
        # Before anything starts: the app never publishes a decision it cannot sign.
        signer = review_signing_key(settings)
        prefix = settings.topic_prefix
        self.settings = settings
        self.queue = ApprovalQueue()
        self.dead_letters = DeadLetterLog()
        approvals = ApprovalFeed(catalog, serde, prefix, self.queue)
        dlq = DeadLetterFeed(catalog, serde, prefix, self.dead_letters)
        self.tails = [
            TopicTail(settings, approvals.topics, approvals.handle, name="approvals"),
            TopicTail(settings, dlq.topics, dlq.handle, name="dead-letters"),
        ]
        clients: Client360Reader
        if snapshots is SnapshotSource.TOPIC:
            fold = SnapshotFold()
            feed = SnapshotFeed(catalog, serde, prefix, fold)
            self.tails.append(TopicTail(settings, feed.topics, feed.handle, name="snapshots"))
            clients = fold
        elif snapshots is SnapshotSource.STORE:
            clients = store_reader(settings)
        else:
            clients = snapshots
        self.producer = ArtifactProducer(
            settings,
            catalog,
            serde,
            producer_name=REVIEW_APP_SOURCE,
            client_id=REVIEW_APP_SOURCE,
            signer=signer,
        )
        secret = settings.review_session_secret
        directory = ReviewerDirectory(
            settings.reviewer_tokens,
            catalog.gateway.reviewers,
            form_key=secret.get_secret_value().encode() if secret else None,
        )
        self.services = ReviewServices(
            catalog=catalog,
            directory=directory,
            queue=self.queue,
            dead_letters=self.dead_letters,
            clients=clients,
            desk=DecisionDesk(
                catalog, self.queue, self.dead_letters, ProducerPublisher(self.producer)
            ),
            feeds=self.feeds,
            secure_cookie=settings.review_cookie_secure,
            max_body_bytes=settings.review_max_body_bytes,
            dead_letter_desk=KafkaDeadLetterDesk(settings, catalog, serde),
            topic_prefix=prefix,
            topic_browser=KafkaTopicBrowser(settings, catalog, serde),
            groups=KafkaGroupReader(settings),
            lineage=store_lineage(settings),
        )
        self.app = create_app(self.services)

    @classmethod
    def from_settings(
        cls, settings: Settings, *, snapshots: SnapshotSource = SnapshotSource.STORE
    ) -> ReviewRuntime:
        review_signing_key(settings)  # a missing or malformed key says so first
        catalog = load_catalog(settings.schemas_dir)
        return cls(settings, catalog, registry_serde(settings, catalog), snapshots=snapshots)

    def feeds(self) -> Mapping[str, bool]:
        return {tail.name: tail.caught_up.is_set() for tail in self.tails}

    def start(self) -> ReviewRuntime:
        for tail in self.tails:
            tail.start()
        return self

    def wait_caught_up(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        return all(
            tail.wait_caught_up(max(0.0, deadline - time.monotonic())) for tail in self.tails
        )

    def stop(self) -> None:
        for tail in self.tails:
            tail.stop()
        self.producer.close()

    def __enter__(self) -> ReviewRuntime:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


class ReviewServer:
    """uvicorn over the app: in the foreground (``run``) or a daemon thread (``start``)."""

    def __init__(self, runtime: ReviewRuntime, listener: socket.socket) -> None:
        """Serve ``runtime``'s app on ``listener`` (http.listen: bound before anything is
        announced, so a busy port is the caller's one-line error)."""
        self.host, self.port = listener.getsockname()[:2]
        self._listener = listener
        config = uvicorn.Config(
            runtime.app, host=self.host, port=self.port, log_level="warning", access_log=False
        )
        self._server = uvicorn.Server(config)
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host = "127.0.0.1" if self.host in ("0.0.0.0", "") else self.host
        return f"http://{host}:{self.port}"

    def run(self) -> None:
        """Serve until interrupted (uvicorn handles SIGINT and SIGTERM)."""
        self._server.run([self._listener])

    def start(self, timeout: float = 10.0) -> ReviewServer:
        self._thread = threading.Thread(
            target=self._server.run, args=([self._listener],), name="review-http", daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise ConfigError(f"the review app did not start on {self.url}")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(10)
