"""http.listen: a server's socket listens before the server is announced, and what cannot be
bound is one ConfigError naming the address and the server (and, for a busy port, what moves
it)."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterator

import pytest

from velocity_stream.errors import ConfigError
from velocity_stream.http.listen import bound_port, listen


@pytest.fixture
def taken() -> Iterator[int]:
    """A port another socket listens on."""
    with socket.socket() as other:
        other.bind(("127.0.0.1", 0))
        other.listen(1)
        yield bound_port(other)


def test_port_zero_listens_on_a_free_port_and_says_which() -> None:
    with listen("127.0.0.1", 0, what="test server", how="--port") as sock:
        port = bound_port(sock)
        assert port > 0
        with socket.create_connection(("127.0.0.1", port), timeout=2):
            pass


def test_a_busy_port_names_the_port_the_server_and_what_moves_it(taken: int) -> None:
    with pytest.raises(ConfigError) as raised:
        listen("127.0.0.1", taken, what="test server", how="--port")
    assert str(raised.value) == (
        f"port {taken} on 127.0.0.1 (test server) is in use; choose another with --port"
    )
    with pytest.raises(ConfigError) as raised:  # a server with no setting to name
        listen("127.0.0.1", taken, what="test server")
    assert str(raised.value) == f"port {taken} on 127.0.0.1 (test server) is in use"


@pytest.mark.parametrize(
    ("host", "port", "says"),
    [
        ("127.0.0.1", 70_000, "cannot listen on 127.0.0.1:70000 (test server): "),
        ("no-such-host.invalid", 0, "cannot listen on no-such-host.invalid:0 (test server): "),
        ("192.0.2.1", 0, "cannot listen on 192.0.2.1:0 (test server): Cannot assign"),
        ("::ffff:192.0.2.1", 0, "cannot listen on [::ffff:192.0.2.1]:0 (test server): "),
    ],
)
def test_an_address_that_cannot_be_bound_is_one_error(host: str, port: int, says: str) -> None:
    with pytest.raises(ConfigError) as raised:
        listen(host, port, what="test server", how="--port")
    assert str(raised.value).startswith(says), str(raised.value)
    assert "\n" not in str(raised.value)


def test_connections_accepted_on_it_by_asyncio_have_nagle_off() -> None:
    # asyncio turns Nagle off only on sockets that name IPPROTO_TCP; with it on, every small
    # response of a keep-alive client waited 40 ms (the registry CLI tests took 18 s, not 1.5).
    async def accepted_nodelay(sock: socket.socket) -> int:
        made: asyncio.Future[int] = asyncio.get_running_loop().create_future()

        class Note(asyncio.Protocol):
            def connection_made(self, transport: asyncio.BaseTransport) -> None:
                conn = transport.get_extra_info("socket")
                made.set_result(conn.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))

        server = await asyncio.get_running_loop().create_server(Note, sock=sock)
        async with server:
            _, writer = await asyncio.open_connection("127.0.0.1", bound_port(sock))
            try:
                return await asyncio.wait_for(made, 5)
            finally:
                writer.close()

    with listen("127.0.0.1", 0, what="test server", how="--port") as sock:
        assert asyncio.run(accepted_nodelay(sock)) != 0
