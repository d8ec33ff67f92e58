"""Listening sockets for the project's servers, bound before a server announces itself.

uvicorn binds its own socket only once it starts, and reports a busy port with its own log
line and exit code after the command has already printed where it serves. A server here
gets a socket from :func:`listen` first, so a busy, forbidden or unknown address is one
:class:`~velocity_stream.errors.ConfigError` naming it and the flag that moves it.
"""

from __future__ import annotations

import errno
import socket

from velocity_stream.errors import ConfigError

BACKLOG = 2048  # uvicorn's default


def listen(host: str, port: int, *, what: str, how: str | None = None) -> socket.socket:
    """A TCP socket listening on ``host:port`` (port 0: any free port), for a server to
    accept on. ``what`` names the server in an error, and ``how`` (if given) the setting that
    moves it when the port is in use."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock: socket.socket | None = None
    try:
        # IPPROTO_TCP said explicitly: asyncio sets TCP_NODELAY on accepted connections only
        # when the socket names it (proto 0 leaves Nagle on: 40 ms per small response).
        sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn does
        sock.bind((host, port))
        # Listening now: a client that connects once the server is announced waits in the
        # backlog until the server accepts, rather than being refused.
        sock.listen(BACKLOG)
    except (OSError, OverflowError) as error:
        if sock is not None:
            sock.close()
        if isinstance(error, OSError) and error.errno == errno.EADDRINUSE:
            advice = f"; choose another with {how}" if how else ""
            raise ConfigError(f"port {port} on {host} ({what}) is in use{advice}") from None
        reason = error.strerror if isinstance(error, OSError) and error.strerror else error
        address = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        raise ConfigError(f"cannot listen on {address} ({what}): {reason}") from None
    return sock


def bound_port(sock: socket.socket) -> int:
    """The port ``sock`` is bound to (the one the system chose, for port 0)."""
    return int(sock.getsockname()[1])
