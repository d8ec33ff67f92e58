"""Running the registry: uvicorn in the foreground (the CLI) or in a background thread (tests,
benchmarks, and anything that embeds a registry next to its own work)."""

from __future__ import annotations

import socket
import threading
import time
from dataclasses import dataclass, field
from types import TracebackType

import uvicorn

from velocity_stream.contracts.catalog import CompatibilityMode
from velocity_stream.errors import RegistryError
from velocity_stream.http.listen import bound_port, listen
from velocity_stream.registry.api import create_app
from velocity_stream.registry.service import DEFAULT_MAX_SCHEMA_BYTES, RegistryService
from velocity_stream.registry.store import (
    RegistryStore,
    StoreOptions,
    kafka_store,
    memory_store,
)
from velocity_stream.settings import Settings

DEFAULT_PORT = 8081
LOOPBACK = "127.0.0.1"


@dataclass(frozen=True)
class ServeOptions:
    host: str = LOOPBACK
    port: int = DEFAULT_PORT
    max_schema_bytes: int = DEFAULT_MAX_SCHEMA_BYTES
    default_level: CompatibilityMode = CompatibilityMode.BACKWARD
    store: StoreOptions = field(default_factory=StoreOptions)


def build_service(settings: Settings | None, options: ServeOptions) -> RegistryService:
    """A service over the Kafka in ``settings``; over process memory when ``settings`` is None."""
    store: RegistryStore = (
        memory_store() if settings is None else kafka_store(settings, options.store)
    )
    return RegistryService(
        store, max_schema_bytes=options.max_schema_bytes, default_level=options.default_level
    )


def _uvicorn_config(
    service: RegistryService, host: str, port: int, max_body_bytes: int | None
) -> uvicorn.Config:
    app = create_app(service, max_body_bytes=max_body_bytes)
    return uvicorn.Config(app, host=host, port=port, log_level="warning", access_log=False)


def serve_forever(
    service: RegistryService, listener: socket.socket, *, max_body_bytes: int | None = None
) -> None:
    """Serve on ``listener`` (http.listen) in the foreground until interrupted."""
    host, port = listener.getsockname()[:2]
    try:
        uvicorn.Server(_uvicorn_config(service, host, port, max_body_bytes)).run([listener])
    finally:
        service.store.close()


def free_port(host: str = LOOPBACK) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


class BackgroundRegistry:
    """A registry served from a daemon thread on a free loopback port; ``url`` says where."""

    def __init__(
        self,
        service: RegistryService,
        *,
        host: str = LOOPBACK,
        port: int = 0,
        max_body_bytes: int | None = None,
    ) -> None:
        self.service = service
        self.host = host
        listener = listen(host, port, what="schema registry")
        self.port = bound_port(listener)
        config = _uvicorn_config(service, self.host, self.port, max_body_bytes)
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, args=([listener],), name="registry-http", daemon=True
        )

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self, timeout: float = 10.0) -> BackgroundRegistry:
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RegistryError(f"the registry did not start on {self.url}")
            time.sleep(0.01)
        return self

    def stop(self, *, close_store: bool = True) -> None:
        self._server.should_exit = True
        self._thread.join(10)
        if close_store:
            self.service.store.close()

    def __enter__(self) -> BackgroundRegistry:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
