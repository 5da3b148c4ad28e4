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


def install(log_path: str) -> None:
    def hook(event: str, args: tuple[object, ...]) -> None:
        if event == "socket.connect":
            sock, address = args[0], args[1]
            if getattr(sock, "family", None) == getattr(socket, "AF_UNIX", None):
                return
            host = address[0] if isinstance(address, tuple) else address
        elif event == "socket.getaddrinfo":
            host = args[0]
        else:
            return
        if _is_local(host):
            return
        where = "".join(traceback.format_stack(limit=8)[:-1])
        with open(log_path, "a", encoding="utf-8") as log:
            log.write(f"pid {os.getpid()} {event} {host!r}\n{where}\n")
        raise NetworkBlocked(f"network access to {host!r} is blocked in tests")

    sys.addaudithook(hook)
