"""Small helpers shared by the benchmarks."""

from __future__ import annotations

import socket

MB = 1024 * 1024


def say(text: str = "") -> None:
    print(text, flush=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def mb(n: float | None) -> str:
    return "n/a" if n is None else f"{n / MB:,.0f} MB"
