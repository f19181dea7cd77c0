"""Where a webhook may be sent: public addresses, and the internal ones an operator allowed.

A subscription names a URL; without this check, anyone allowed to subscribe could make the
server call its own internal services (server-side request forgery). Every address the
host resolves to must be public (not loopback, private, link-local, reserved, multicast or
unspecified) unless the host, the address or a network holding it is listed in
`TRACKER_WEBHOOK_ALLOWED_HOSTS`. Checked when subscribing and again before each delivery
(a name may resolve elsewhere later); redirects are never followed (docs/webhooks.md).
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Sequence
from urllib.parse import urlsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class TargetRefusedError(ValueError):
    """The URL may not be a webhook's target."""


def _internal(address: IPAddress) -> bool:
    return (
        address.is_loopback
        or address.is_private
        or address.is_link_local
        or address.is_reserved
        or address.is_multicast
        or address.is_unspecified
    )


def _allowed(host: str, address: IPAddress, allowed: Sequence[str]) -> bool:
    for entry in allowed:
        if entry.lower() == host.lower():
            return True
        try:
            if address in ipaddress.ip_network(entry, strict=False):
                return True
        except ValueError:
            continue  # a host name, compared above
    return False


def resolve(host: str, port: int) -> list[IPAddress]:
    """Every address `host` resolves to (TargetRefusedError when it resolves to none)."""
    try:
        infos = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
    except OSError as error:
        raise TargetRefusedError(f"cannot resolve {host!r}: {error}") from None
    return [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos]


def check_target(url: str, allowed: Sequence[str]) -> None:
    """Raise `TargetRefusedError` unless `url` is http(s) and reaches only allowed addresses."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise TargetRefusedError("a webhook URL is an absolute http(s) URL")
    if parts.username or parts.password:
        raise TargetRefusedError("a webhook URL carries no credentials")
    host = parts.hostname
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise TargetRefusedError("the webhook URL's port is invalid") from None
    for address in resolve(host, port):
        if _internal(address) and not _allowed(host, address, allowed):
            raise TargetRefusedError(
                f"{host} resolves to the internal address {address}: add it to"
                " TRACKER_WEBHOOK_ALLOWED_HOSTS to allow it"
            )
