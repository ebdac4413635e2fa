"""Which webhook addresses an alert rule may send to (server-side request forgery guard).

Always refused: schemes other than http/https; link-local addresses (169.254.0.0/16, fe80::/10), where
cloud instance metadata answers (169.254.169.254 on AWS, GCP, Azure; fd00:ec2::254; 100.100.100.200 on
Alibaba), and the metadata host names (metadata.google.internal, ...); multicast, unspecified
(0.0.0.0, ::) and reserved addresses. IPv4 written as one number, in hex or octal (http://2852039166/) and
IPv4-mapped IPv6 (::ffff:169.254.169.254) are read as the address they stand for.

Allowed by default, refusable by the team setting `alerts.webhooks` (`loopback`, `private`: allow |
refuse): loopback (127.0.0.0/8, ::1,
localhost; tests and local receivers use it) and private networks (10/8, 172.16/12, 192.168/16, fc00::/7;
an internal chat or incident tool). A rule is checked when it is added or edited (the host as written),
and each delivery is checked again on the addresses its host name resolves to then, so a DNS name that
points at a metadata address is refused at send time (recorded as a failed attempt, not retried).
"""

from __future__ import annotations

import ipaddress
import socket
from typing import Any
from urllib.parse import urlsplit

from review_store.errors import ValidationFailed

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
METADATA_HOSTS = frozenset(
    {"metadata.google.internal", "metadata.goog", "metadata", "instance-data", "instance-data.ec2.internal"}
)
METADATA_ADDRESSES = frozenset(
    {ipaddress.ip_address("fd00:ec2::254"), ipaddress.ip_address("100.100.100.200")}
)
MAX_LENGTH = 500
_BY = "refused by the setting"


def literal_address(host: str) -> Address | None:
    """The IP address a URL host names literally (dotted, bracketed IPv6, or the legacy numeric forms the
    system resolver accepts), else None (a host name)."""
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    if host and all(c in "0123456789abcdefx." for c in host.lower()) and host[0].isdigit():
        try:
            return ipaddress.IPv4Address(socket.inet_aton(host))
        except OSError:
            return None
    return None


def refusal(address: Address, *, allow_loopback: bool = True, allow_private: bool = True) -> str | None:
    """Why a delivery to `address` is refused, or None."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if address.is_link_local or address in METADATA_ADDRESSES:
        return f"{address} is a link-local / cloud metadata address"
    if address.is_loopback:
        return None if allow_loopback else f"{address} is loopback ({_BY} alerts.webhooks.loopback)"
    if address.is_multicast or address.is_unspecified or address.is_reserved:
        return f"{address} is not a unicast host address"
    if address.is_private and not allow_private:
        return f"{address} is a private address ({_BY} alerts.webhooks.private)"
    return None


def _host_refusal(host: str, allow_loopback: bool, allow_private: bool) -> str | None:
    name = host.lower().rstrip(".")
    if name in METADATA_HOSTS:
        return f"{host} is a cloud metadata host"
    if name == "localhost" or name.endswith(".localhost"):
        return None if allow_loopback else f"{host} is loopback ({_BY} alerts.webhooks.loopback)"
    address = literal_address(name)
    return (
        None
        if address is None
        else refusal(address, allow_loopback=allow_loopback, allow_private=allow_private)
    )


def validate_url(url: Any, *, allow_loopback: bool = True, allow_private: bool = True) -> str:
    """An http(s) URL whose host may be sent to; ValidationFailed naming the field and the reason."""
    text = url.strip() if isinstance(url, str) else ""
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValidationFailed(f"webhook_url: {url!r} is not an http:// or https:// URL with a host")
    if len(text) > MAX_LENGTH:
        raise ValidationFailed(f"webhook_url: at most {MAX_LENGTH} characters")
    why = _host_refusal(parts.hostname, allow_loopback, allow_private)
    if why:
        raise ValidationFailed(f"webhook_url: refused: {why}")
    return text


def resolved_refusal(url: str, *, allow_loopback: bool = True, allow_private: bool = True) -> str | None:
    """At send time: why the URL's host is refused, by name or by any address it resolves to now; None
    when allowed or when it does not resolve (the connection attempt then fails and is retried)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    why = _host_refusal(host, allow_loopback, allow_private)
    if why or literal_address(host.lower().rstrip(".")) is not None:
        return why
    try:
        infos = socket.getaddrinfo(host, parts.port or (443 if parts.scheme == "https" else 80))
    except (OSError, UnicodeError):
        return None
    for info in infos:
        try:
            address = ipaddress.ip_address(str(info[4][0]).split("%")[0])
        except ValueError:
            continue
        why = refusal(address, allow_loopback=allow_loopback, allow_private=allow_private)
        if why:
            return f"{host} resolves to {why}"
    return None
