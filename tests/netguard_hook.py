"""The test run's network guard: a Python audit hook that refuses every socket connection
and name lookup except to loopback and Unix sockets, and logs each refusal to a file that
the session checks at its end (tests/conftest.py). The refusal happens before the
system call, so nothing leaves the machine."""

from __future__ import annotations

import ipaddress
import os
import socket
import sys
import traceback

_LOCAL_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost"}


def _is_local(host: object) -> bool:
    if host is None:
        return True
    if isinstance(host, bytes):
        host = host.decode("ascii", "replace")
    name = str(host).strip("[]").lower()
    if name in _LOCAL_NAMES or name == "":
        return True
    try:
        return ipaddress.ip_address(name.split("%")[0]).is_loopback
    except ValueError:
        return False


class NetworkBlocked(OSError):
    pass


def _allowed() -> set[tuple[str, int | None]] | None:
    """``REMEMORA_NETGUARD_ALLOW``: the configured servers, "host:port,host:port" (empty:
    none). When it is set, even loopback is refused unless it is one of them."""
    raw = os.environ.get("REMEMORA_NETGUARD_ALLOW")
    if raw is None:
        return None
    allowed: set[tuple[str, int | None]] = set()
    for item in filter(None, (part.strip() for part in raw.split(","))):
        host, _, port = item.rpartition(":")
        allowed.add((host.lower(), int(port)))
        allowed.add((host.lower(), None))  # its name lookup
    return allowed


def install(log_path: str) -> None:
    strict = _allowed()

    def permitted(host: object, port: object) -> bool:
        if strict is None:
            return _is_local(host)
        name = host.decode("ascii", "replace") if isinstance(host, bytes) else str(host)
        return (name.strip("[]").lower(), port if isinstance(port, int) else None) in strict

    def hook(event: str, args: tuple[object, ...]) -> None:
        port: object = None
        if event == "socket.connect":
            sock, address = args[0], args[1]
            if getattr(sock, "family", None) == getattr(socket, "AF_UNIX", None):
                return
            host = address[0] if isinstance(address, tuple) else address
            port = address[1] if isinstance(address, tuple) and len(address) > 1 else None
        elif event == "socket.getaddrinfo":
            host = args[0]
        else:
            return
        if permitted(host, port):
            return
        where = "".join(traceback.format_stack(limit=8)[:-1])
        with open(log_path, "a", encoding="utf-8") as log:
            log.write(f"pid {os.getpid()} {event} {host!r} port {port!r}\n{where}\n")
        raise NetworkBlocked(f"network access to {host!r} is blocked in tests")

    sys.addaudithook(hook)
