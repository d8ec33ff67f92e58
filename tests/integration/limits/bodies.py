"""Sending a big request body to a real server without holding it, and reading a process's RSS.

The body is generated chunk by chunk (one 1 MiB block sent again and again), so the test's
own memory stays small whatever the size; the server's is read from /proc/<pid>/status.
"""

from __future__ import annotations

import socket
import time
from dataclasses import dataclass
from pathlib import Path

MIB = 1024 * 1024
_BLOCK = b"x" * MIB


def vm_kib(pid: int, field: str = "VmRSS") -> int:
    """A memory figure of a process in KiB: VmRSS (now) or VmHWM (peak)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    raise LookupError(f"{field} is not in /proc/{pid}/status")


@dataclass(frozen=True)
class Outcome:
    """What the server answered (status 0: nothing readable) and how much was sent."""

    status: int
    sent: int
    response: bytes


def send_big_body(
    host: str,
    port: int,
    path: str,
    total: int,
    headers: dict[str, str] | None = None,
    *,
    chunked: bool = True,
    timeout: float = 60.0,
) -> Outcome:
    """POST ``total`` bytes to ``path``, chunked (no Content-Length) or with the true length.

    Stops sending when the server answers or closes; returns the status line's code.
    """
    lines = [f"POST {path} HTTP/1.1", f"Host: {host}:{port}", "Connection: close"]
    lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
    lines.append("Transfer-Encoding: chunked" if chunked else f"Content-Length: {total}")
    head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
    sent = 0
    with socket.create_connection((host, port), timeout=timeout) as sock:
        sock.sendall(head)
        try:
            while sent < total:
                block = _BLOCK[: min(MIB, total - sent)]
                if chunked:
                    sock.sendall(f"{len(block):x}\r\n".encode() + block + b"\r\n")
                else:
                    sock.sendall(block)
                sent += len(block)
            if chunked:
                sock.sendall(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server refused and closed: what it said is read below
        response = _read_response(sock, timeout)
    status = 0
    if response.startswith(b"HTTP/1.1 "):
        status = int(response[9:12])
    return Outcome(status, sent, response)


def _read_response(sock: socket.socket, timeout: float) -> bytes:
    sock.settimeout(timeout)
    data = b""
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            piece = sock.recv(65536)
            if not piece:
                break
            data += piece
    except (ConnectionResetError, TimeoutError, OSError):
        pass
    return data
