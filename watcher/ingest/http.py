"""aiohttp sessions for feeds and destinations: identity, timeouts, connection limits, the private-address guard."""

from __future__ import annotations

import errno
import ipaddress
import logging
import socket
from dataclasses import dataclass

import aiohttp
from aiohappyeyeballs import AddrInfoType
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import DefaultResolver

from watcher import __version__

logger = logging.getLogger(__name__)

PROJECT_URL = "https://github.com/watcher-news/watcher"
DEFAULT_USER_AGENT = f"watcher/{__version__} (+{PROJECT_URL}; news claim monitor)"

# Addresses that a public IPv6 address may carry an IPv4 address inside (NAT64 well-known prefix).
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")


@dataclass(frozen=True, slots=True, kw_only=True)
class HttpSettings:
    """How watcher talks HTTP. Times are seconds, sizes bytes."""

    user_agent: str = DEFAULT_USER_AGENT
    total_timeout_s: float = 20.0  # whole request, redirects and body included
    connect_timeout_s: float = 10.0  # TCP (and TLS) connect to one address
    max_body_bytes: int = 15 * 1024 * 1024  # counted after decompression
    limit: int = 100  # open connections, all hosts together
    limit_per_host: int = 4
    allow_private: bool = False  # allow loopback, private, link-local and reserved addresses
    max_redirects: int = 5
    full_fetch_every_s: float = 24 * 3600.0  # an unconditional GET at least this often


class AddressRefusedError(OSError):
    """A connection to a non-public address was refused by policy.

    An ``OSError`` so that aiohttp reports it like any other connect failure, wrapped in a
    ``ClientConnectorError`` whose ``os_error`` is this exception.
    """

    def __init__(self, host: str, address: str) -> None:
        shown = host if host == address else f"{host} ({address})"
        super().__init__(errno.EACCES, f"{shown} is not a public address (set allow_private to allow it)")
        self.host = host
        self.address = address


def is_public_address(address: str) -> bool:
    """Whether an IP address literal is globally routable (not private, loopback, link-local, ...)."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])  # drop an IPv6 zone id
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(ip)
        if embedded is not None:
            return _is_public(embedded)
    return _is_public(ip)


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    # These IPv6 forms reach an IPv4 address, so they are exactly as public as that address.
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip.teredo is not None:
        return ip.teredo[1]
    if ip in _NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def _is_public(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    return ip.is_global and not (
        ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
    )


class PublicOnlyResolver(AbstractResolver):
    """A resolver that drops non-public addresses, and refuses a host that has no other.

    The connector connects only to what the resolver returns, so a name that resolves (or
    re-resolves, as in DNS rebinding) to an internal address never reaches it.
    """

    def __init__(self, inner: AbstractResolver | None = None) -> None:
        self._inner = inner if inner is not None else DefaultResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        results = await self._inner.resolve(host, port, family)
        public = [r for r in results if is_public_address(r["host"])]
        if not public and results:
            raise AddressRefusedError(host, results[0]["host"])
        return public

    async def close(self) -> None:
        await self._inner.close()


def public_socket(addr_info: AddrInfoType) -> socket.socket:
    """Socket factory that refuses non-public peers.

    aiohttp skips the resolver for IP-literal hosts (``http://127.0.0.1/``, also as a redirect
    target), so the address is checked again here, right before every connect.
    """
    family, type_, proto, _, sockaddr = addr_info
    address = str(sockaddr[0])
    if not is_public_address(address):
        raise AddressRefusedError(address, address)
    return socket.socket(family=family, type=type_, proto=proto)


def make_session(settings: HttpSettings) -> aiohttp.ClientSession:
    """Create a ClientSession that refuses non-public addresses at connect time, unless ``allow_private``.

    Call it inside the running event loop; the feeds share one, the alert sender makes its own. Close it
    with ``await session.close()``. The total timeout also counts time spent waiting for a free
    connection, so callers should not queue many more requests per host than ``limit_per_host``.
    """
    guarded = not settings.allow_private
    connector = aiohttp.TCPConnector(
        limit=settings.limit,
        limit_per_host=settings.limit_per_host,
        ttl_dns_cache=300,
        resolver=PublicOnlyResolver() if guarded else None,
        socket_factory=public_socket if guarded else None,
    )
    timeout = aiohttp.ClientTimeout(total=settings.total_timeout_s, sock_connect=settings.connect_timeout_s)
    return aiohttp.ClientSession(
        connector=connector,
        timeout=timeout,
        headers={"User-Agent": settings.user_agent},
        # aiohttp >= 3.13.3 decompresses in bounded steps as the body streams in (CVE-2025-69223),
        # so a page's size is counted after decompression and a gzip bomb stops at the cap. Feed
        # fetches turn this off per request and decode in fetch, which also refuses a body cut short.
        auto_decompress=True,
        # Cookies would link one feed's requests to another's and grow without bound.
        cookie_jar=aiohttp.DummyCookieJar(),
        trust_env=False,
        raise_for_status=False,
    )
