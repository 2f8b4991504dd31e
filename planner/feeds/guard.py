"""The private-network guard: an address is checked when the connection is made, not before.

Resolving a name, checking the answer and then letting the HTTP library resolve it again would let a
DNS answer change in between; here the connection goes to the very address that was checked, for
every hop of a redirect chain.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable
from dataclasses import dataclass, field

from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import ConnectTimeoutError, NewConnectionError

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network
CARRIER_GRADE_NAT = ipaddress.ip_network("100.64.0.0/10")


class AddressRefused(Exception):
    """The host resolves only to addresses that feed fetches may not reach."""


@dataclass(frozen=True)
class Allowlist:
    """Hosts and networks an operator trusts although they are private (``FETCH_ALLOWLIST``)."""

    hosts: frozenset[str] = frozenset()
    networks: tuple[Network, ...] = field(default_factory=tuple)

    @classmethod
    def parse(cls, value: str | Iterable[str] | None) -> Allowlist:
        items = value.split(",") if isinstance(value, str) else list(value or [])
        hosts, networks = set(), []
        for item in (i.strip().lower() for i in items):
            if not item:
                continue
            try:
                networks.append(ipaddress.ip_network(item, strict=False))
            except ValueError:
                hosts.add(item.rstrip("."))
        return cls(frozenset(hosts), tuple(networks))

    def allows(self, host: str, address: Address) -> bool:
        return host.lower().rstrip(".") in self.hosts or any(address in n for n in self.networks)


def is_public(address: Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return not (address.is_private or address.is_loopback or address.is_link_local
                or address.is_multicast or address.is_unspecified or address.is_reserved
                or address in CARRIER_GRADE_NAT)


def checked_addresses(host: str, port: int, allowlist: Allowlist) -> list[tuple[int, Address]]:
    """The addresses of ``host`` a fetch may connect to, or AddressRefused naming what was refused."""
    try:
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as error:
        raise AddressRefused(f"{host} could not be resolved ({error.strerror})") from None
    allowed, refused = [], []
    for family, _type, _proto, _name, sockaddr in found:
        address = ipaddress.ip_address(sockaddr[0].split("%")[0])
        if is_public(address) or allowlist.allows(host, address):
            allowed.append((family, address))
        else:
            refused.append(str(address))
    if not allowed:
        where = ", ".join(dict.fromkeys(refused))
        what = f"{host} is" if refused == [host] else f"{host} resolves to"
        raise AddressRefused(f"{what} a private or reserved address ({where}); "
                             "add it to FETCH_ALLOWLIST to allow it")
    return allowed


class _GuardedConnect:
    allowlist: Allowlist = Allowlist()

    def _new_conn(self) -> socket.socket:  # type: ignore[override]
        host, port = self._dns_host.rstrip("."), self.port  # type: ignore[attr-defined]
        last: OSError | None = None
        for family, address in checked_addresses(host, port, self.allowlist):
            sock = socket.socket(family, socket.SOCK_STREAM)
            sock.settimeout(self.timeout)  # type: ignore[attr-defined]
            try:
                sock.connect((str(address), port))
            except OSError as error:
                sock.close()
                last = error
                continue
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            return sock
        if isinstance(last, TimeoutError):  # told apart, as urllib3 does, so the error says so
            raise ConnectTimeoutError(self, f"connecting to {host} timed out")
        raise NewConnectionError(self, f"could not connect to {host}: {last}")  # type: ignore[arg-type]


def pool_classes(allowlist: Allowlist) -> dict[str, type[HTTPConnectionPool]]:
    """Connection pools whose connections only go to checked addresses."""
    http_conn = type("GuardedHTTPConnection", (_GuardedConnect, HTTPConnection), {"allowlist": allowlist})
    https_conn = type("GuardedHTTPSConnection", (_GuardedConnect, HTTPSConnection),
                      {"allowlist": allowlist})
    return {
        "http": type("GuardedHTTPPool", (HTTPConnectionPool,), {"ConnectionCls": http_conn}),
        "https": type("GuardedHTTPSPool", (HTTPSConnectionPool,), {"ConnectionCls": https_conn}),
    }
