"""focalxl.fetch: the one outgoing-fetch policy of every door and batch job.

    policy = FetchPolicy.from_env()                 # or FetchPolicy(allow=("10.0.0.5:8080",), ...)
    data = policy.fetch(url, headers={"Authorization": "Token ..."})   # -> bytes

Like Label Studio's own SSRF guard, a URL is fetched only when every address its host
resolves to is public, checked after DNS resolution and again on every redirect hop; the
connection then goes to the address that was checked (the host name travels only in the
``Host`` header and TLS SNI/certificate check), so a DNS answer that changes between
check and connect is never used. Loopback, private, link-local, shared (100.64/10),
multicast, reserved and unspecified addresses are refused, also when spelt as decimal,
octal or hex IPv4, IPv4-mapped (``::ffff:``), 6to4 or NAT64 IPv6, unless an operator
trusts them in ``allow``. Only ``http`` and ``https`` are fetched, never through a proxy
(``HTTP_PROXY`` is ignored: a proxy would resolve the name itself, after the check).

Every fetch has a connect timeout, a read timeout (per read), a total deadline and a
size cap checked on ``Content-Length`` and on the bytes as they stream in; nothing is
written anywhere: the caller gets the bytes of a complete download or an error.

Errors (all ``ValueError``): ``FetchRefused`` (the policy forbids the URL; its message
depends only on the URL and DNS, never on the target's answer), ``FetchTooLarge`` (a
``FetchRefused`` over ``max_bytes``), ``FetchFailed`` (network, HTTP status, timeout).
"""
from __future__ import annotations

import ipaddress
import os
from base64 import b64encode
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor, TimeoutError as FutureTimeout
from dataclasses import dataclass, field, replace
from typing import Callable, Iterable, List, Mapping, Optional, Sequence, Tuple, Union
from urllib.parse import quote, unquote, unquote_plus, urlencode, urljoin, urlsplit, urlunsplit

import urllib3
from urllib3.exceptions import HTTPError as Urllib3Error

IPAddress = Union[ipaddress.IPv4Address, ipaddress.IPv6Address]
IPNetwork = Union[ipaddress.IPv4Network, ipaddress.IPv6Network]
Resolver = Callable[[str, int], List[str]]

DEFAULT_MAX_BYTES = 256 * 1024 ** 2
REDIRECTS = {301, 302, 303, 307, 308}
DEFAULT_PORTS = {"http": 80, "https": 443}
SENSITIVE_HEADERS = {"authorization", "cookie", "proxy-authorization"}
NAT64 = ipaddress.ip_network("64:ff9b::/96")
CHUNK = 64 * 1024
ENV = {"allow": "FOCALXL_FETCH_ALLOW", "connect_timeout": "FOCALXL_FETCH_CONNECT_TIMEOUT",
       "read_timeout": "FOCALXL_FETCH_READ_TIMEOUT", "deadline": "FOCALXL_FETCH_DEADLINE",
       "max_bytes": "FOCALXL_MAX_IMAGE_BYTES", "max_redirects": "FOCALXL_FETCH_MAX_REDIRECTS"}


class FetchError(ValueError):
    """A URL that could not be fetched under the policy."""


class FetchRefused(FetchError):
    """The policy forbids fetching the URL (scheme, address or size)."""


class FetchTooLarge(FetchRefused):
    """The answer is larger than ``max_bytes``; refused before it was buffered."""


class FetchFailed(FetchError):
    """The fetch was allowed but did not succeed (network, HTTP status, timeout)."""


@dataclass(frozen=True)
class Trusted:
    """One ``allow`` entry: a host name or an address network, optionally on one port only."""

    name: Optional[str] = None
    network: Optional[IPNetwork] = None
    port: Optional[int] = None

    @classmethod
    def parse(cls, entry: str) -> "Trusted":
        """``host``, ``host:port``, ``[v6]:port``, an address, a CIDR network or a URL (its host and port)."""
        text = entry.strip()
        if "://" in text:
            parts = urlsplit(text)
            scheme = parts.scheme.lower()
            if scheme not in DEFAULT_PORTS or not parts.hostname:
                raise ValueError(f"cannot trust {entry!r}: an http(s) URL must have a host")
            return cls._host(parts.hostname, parts.port or DEFAULT_PORTS[scheme])
        if "/" in text:
            return cls(network=ipaddress.ip_network(text, strict=False))
        host, port = text, None
        if text.startswith("["):
            host, _, rest = text[1:].partition("]")
            port = int(rest[1:]) if rest.startswith(":") else None
        elif text.count(":") == 1:
            host, port_text = text.split(":")
            port = int(port_text)
        if not host:
            raise ValueError(f"cannot trust {entry!r}: no host")
        return cls._host(host, port)

    @classmethod
    def _host(cls, host: str, port: Optional[int]) -> "Trusted":
        try:
            address = ipaddress.ip_address(host)
        except ValueError:
            return cls(name=_idna(host), port=port)
        return cls(network=ipaddress.ip_network(address), port=port)

    def covers(self, host: str, port: int, addresses: Sequence[IPAddress]) -> bool:
        if self.port is not None and self.port != port:
            return False
        if self.name is not None:
            return self.name == host
        return bool(addresses) and all(_unmapped(a) in self.network for a in addresses)


def _system_resolve(host: str, port: int) -> List[str]:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(info[4][0] for info in infos))


_dns_pool: Optional[ThreadPoolExecutor] = None
_dns_lock = threading.Lock()


def _resolve_within(resolve: Resolver, host: str, port: int, seconds: float) -> List[str]:
    """``resolve(host, port)`` bounded by ``seconds`` (the system resolver has no timeout of its own)."""
    global _dns_pool
    with _dns_lock:
        if _dns_pool is None:
            _dns_pool = ThreadPoolExecutor(max_workers=8, thread_name_prefix="focalxl-dns")
    future = _dns_pool.submit(resolve, host, port)
    try:
        return future.result(timeout=max(seconds, 0.001))
    except FutureTimeout:
        raise FetchFailed(f"resolving {host} timed out") from None
    except (OSError, UnicodeError):
        raise FetchFailed(f"cannot resolve {host}") from None


@dataclass(frozen=True)
class FetchPolicy:
    """Where and how much a door or batch job may fetch; ``fetch(url)`` applies it."""

    allow: Tuple[Trusted, ...] = ()
    connect_timeout: float = 5.0
    read_timeout: float = 15.0
    deadline: float = 60.0
    max_bytes: int = DEFAULT_MAX_BYTES
    max_redirects: int = 5
    verify_tls: bool = True
    ca_bundle: Optional[str] = None   # PEM file of trusted CAs for https (default: certifi's)
    resolve: Resolver = field(default=_system_resolve, compare=False, repr=False)

    def __post_init__(self):
        object.__setattr__(self, "allow", tuple(a if isinstance(a, Trusted) else Trusted.parse(a) for a in self.allow))
        for name in ("connect_timeout", "read_timeout", "deadline"):
            if not 0 < getattr(self, name) < float("inf"):
                raise ValueError(f"{name} must be a positive number of seconds, got {getattr(self, name)!r}")
        if self.max_bytes <= 0 or self.max_redirects < 0:
            raise ValueError("max_bytes must be positive and max_redirects at least 0")

    @classmethod
    def from_env(cls, environ: Optional[Mapping[str, str]] = None, trusted: Iterable[str] = ()) -> "FetchPolicy":
        """The policy the environment sets, trusting ``trusted`` and ``LABEL_STUDIO_URL``'s host too.

        ``FOCALXL_FETCH_ALLOW`` (comma-separated hosts, ``host:port``, addresses, CIDR
        networks or URLs), ``FOCALXL_FETCH_CONNECT_TIMEOUT`` / ``..._READ_TIMEOUT`` /
        ``..._DEADLINE`` (seconds), ``FOCALXL_MAX_IMAGE_BYTES``, ``FOCALXL_FETCH_MAX_REDIRECTS``,
        ``VERIFY_SSL`` (the Label Studio SDK's switch; ``false`` skips certificate checks),
        ``REQUESTS_CA_BUNDLE`` or ``SSL_CERT_FILE`` (a private CA's certificates).
        """
        env = os.environ if environ is None else environ
        allow = [e for e in env.get(ENV["allow"], "").split(",") if e.strip()]
        allow += [u for u in (env.get("LABEL_STUDIO_URL"), env.get("LABEL_STUDIO_HOST")) if u and "://" in u]
        allow += list(trusted)
        options = {"allow": tuple(_parse_setting(ENV["allow"], e, Trusted.parse) for e in allow)}
        for name, parse in (("connect_timeout", float), ("read_timeout", float), ("deadline", float),
                            ("max_bytes", int), ("max_redirects", int)):
            if env.get(ENV[name]):
                options[name] = _parse_setting(ENV[name], env[ENV[name]], parse)
        options["verify_tls"] = env.get("VERIFY_SSL", "true").strip().lower() not in {"0", "false", "no", "off"}
        options["ca_bundle"] = env.get("REQUESTS_CA_BUNDLE") or env.get("SSL_CERT_FILE") or None
        try:
            return cls(**options)
        except ValueError as error:
            raise ValueError(f"fetch settings: {error}") from None

    def trusting(self, *entries: str) -> "FetchPolicy":
        """This policy with ``entries`` (as in ``allow``) trusted too."""
        return replace(self, allow=self.allow + tuple(Trusted.parse(e) for e in entries))

    def fetch(self, url: str, headers: Optional[Mapping[str, str]] = None) -> bytes:
        """The body of ``url`` (redirects followed, each hop checked); ``FetchError`` otherwise."""
        if not isinstance(url, str):
            raise FetchRefused(f"the URL must be a string, got {type(url).__name__}")
        end = time.monotonic() + self.deadline
        current, sent = url, dict(headers or {})
        for hop in range(self.max_redirects + 1):
            if time.monotonic() >= end:
                raise FetchFailed(f"fetching {redact_url(url)} took longer than the {self.deadline:g} s deadline "
                                  f"({ENV['deadline']})")
            target = self._check(current, url, hop, end)
            location = self._get(target, sent, end)
            if location is None:
                return target.body
            following = urljoin(current, location)
            if _origin(following) != _origin(current):
                sent = {k: v for k, v in sent.items() if k.lower() not in SENSITIVE_HEADERS}
            current = following
        raise FetchFailed(f"fetching {redact_url(url)}: more than {self.max_redirects} redirects")

    def _check(self, current: str, original: str, hop: int, end: float) -> "_Target":
        """The hop's scheme, host, port and the resolved addresses, all allowed; ``FetchRefused`` otherwise."""
        where = redact_url(original) + (f" (redirect {hop})" if hop else "")
        try:
            parts = urlsplit(current.strip())
            scheme, port = parts.scheme.lower(), parts.port
        except ValueError:
            raise FetchRefused(f"{where}: not a valid URL") from None
        if scheme not in DEFAULT_PORTS:
            raise FetchRefused(f"{where}: only http and https URLs are fetched, not {scheme or 'a relative path'!r}")
        if not parts.hostname:
            raise FetchRefused(f"{where}: the URL has no host")
        try:
            host = _idna(parts.hostname)
        except ValueError:
            raise FetchRefused(f"{where}: not a valid host name") from None
        port = port or DEFAULT_PORTS[scheme]
        literal = _address_literal(host)
        addresses = [literal] if literal else [ipaddress.ip_address(a) for a in _resolve_within(
            self.resolve, host, port, min(self.connect_timeout, end - time.monotonic()))]
        if not addresses:
            raise FetchFailed(f"{where}: {host} has no address")
        if not any(rule.covers(host, port, addresses) for rule in self.allow):
            for address in addresses:
                reason = forbidden_reason(address)
                if reason:
                    raise FetchRefused(f"{where}: {host} is a {reason} address, which is not fetched unless "
                                       f"trusted in {ENV['allow']}")
        path = _requote(parts.path or "/") + (f"?{_requote(parts.query)}" if parts.query else "")
        authority = (f"[{host}]" if ":" in host else host) + ("" if port == DEFAULT_PORTS[scheme] else f":{port}")
        userinfo = (unquote(parts.username or ""), unquote(parts.password or "")) if "@" in parts.netloc else None
        return _Target(scheme, host, port, addresses, path, authority, where, userinfo)

    def _get(self, target: "_Target", headers: Mapping[str, str], end: float) -> Optional[str]:
        """GET the checked address; the redirect location, or ``None`` with ``target.body`` filled in."""
        last: Optional[FetchFailed] = None
        for address in target.addresses:
            pool = self._pool(target, address)
            try:
                response = pool.urlopen("GET", target.path, headers=_request_headers(target, headers),
                                        redirect=False, retries=False, preload_content=False, decode_content=False,
                                        assert_same_host=False, timeout=self._timeout(end))
            except Urllib3Error as error:
                last = FetchFailed(f"{target.where}: {_network_reason(error)}")
                continue
            try:
                return self._answer(response, target, end)
            finally:
                response.release_conn()
                pool.close()
        raise last or FetchFailed(f"{target.where}: cannot connect")

    def _answer(self, response: urllib3.BaseHTTPResponse, target: "_Target", end: float) -> Optional[str]:
        if response.status in REDIRECTS and response.headers.get("Location"):
            return response.headers["Location"]
        if response.status >= 400:
            raise FetchFailed(f"{target.where}: the server answered HTTP {response.status}")
        if response.headers.get("Content-Encoding", "identity").lower() not in {"identity", ""}:
            raise FetchFailed(f"{target.where}: the server sent a {response.headers['Content-Encoding']}-encoded "
                              f"answer although identity was asked for")
        length = response.headers.get("Content-Length", "")
        if length.strip().isdigit() and int(length) > self.max_bytes:
            raise FetchTooLarge(f"{target.where}: {int(length)} bytes announced, over the limit of {self.max_bytes} "
                                f"({ENV['max_bytes']})")
        target.body = self._read(response, target, end)
        return None

    def _read(self, response: urllib3.BaseHTTPResponse, target: "_Target", end: float) -> bytes:
        """The body, streamed under the size cap, each read under the read timeout, all under the deadline."""
        late = threading.Event()

        def stop():
            late.set()
            try:
                response.shutdown()
            except (RuntimeError, ValueError, OSError):
                pass

        timer = threading.Timer(max(end - time.monotonic(), 0.0), stop)
        timer.daemon = True
        timer.start()
        body = bytearray()
        try:
            while True:
                chunk = response.read1(CHUNK)
                if late.is_set():
                    break
                if not chunk:
                    return bytes(body)
                body += chunk
                if len(body) > self.max_bytes:
                    raise FetchTooLarge(f"{target.where}: more than {self.max_bytes} bytes, the limit "
                                        f"({ENV['max_bytes']})")
        except Urllib3Error as error:
            if not late.is_set():
                raise FetchFailed(f"{target.where}: {_network_reason(error)}") from None
        finally:
            timer.cancel()
            body.clear()
        raise FetchFailed(f"{target.where}: took longer than the {self.deadline:g} s deadline ({ENV['deadline']})")

    def _pool(self, target: "_Target", address: IPAddress) -> urllib3.HTTPConnectionPool:
        if target.scheme == "http":
            return urllib3.HTTPConnectionPool(str(address), target.port, maxsize=1, retries=False)
        import certifi
        return urllib3.HTTPSConnectionPool(
            str(address), target.port, maxsize=1, retries=False, server_hostname=target.host,
            assert_hostname=target.host if self.verify_tls else False,
            cert_reqs="CERT_REQUIRED" if self.verify_tls else "CERT_NONE",
            ca_certs=(self.ca_bundle or certifi.where()) if self.verify_tls else None)

    def _timeout(self, end: float) -> urllib3.Timeout:
        remaining = max(end - time.monotonic(), 0.001)
        return urllib3.Timeout(connect=min(self.connect_timeout, remaining), read=min(self.read_timeout, remaining))


@dataclass
class _Target:
    scheme: str
    host: str
    port: int
    addresses: List[IPAddress]
    path: str
    authority: str
    where: str
    userinfo: Optional[Tuple[str, str]] = None   # user:password@ in the URL, sent as Basic auth
    body: bytes = b""


def forbidden_reason(address: IPAddress) -> Optional[str]:
    """Why ``address`` is not fetched by default (``"loopback"``, ``"private"``, ...); ``None`` if public."""
    address = _unmapped(address)
    for reason, test in (("loopback", "is_loopback"), ("link-local", "is_link_local"), ("multicast", "is_multicast"),
                         ("unspecified", "is_unspecified"), ("reserved", "is_reserved"), ("private", "is_private"),
                         ("site-local", "is_site_local")):
        if getattr(address, test, False):
            return reason
    return None if address.is_global else "non-public"


def _unmapped(address: IPAddress) -> IPAddress:
    """The IPv4 address inside an IPv4-mapped, 6to4 or NAT64 IPv6 address (else ``address``)."""
    if address.version == 6:
        if address.ipv4_mapped:
            return address.ipv4_mapped
        if address.sixtofour:
            return address.sixtofour
        if address in NAT64:
            return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        return ipaddress.IPv6Address(int(address))   # drops a %zone
    return address


def redact_url(url: object) -> str:
    """``url`` for logs and replies: userinfo and every query value (but Local Storage's ``d``) as ``***``.

    Works on the parsed URL, so any spelling (upper-case scheme, non-ASCII or percent-encoded
    parts) is redacted the same; the fragment is dropped.
    """
    if not isinstance(url, str):
        return f"<{type(url).__name__}>"
    try:
        parts = urlsplit(url.strip())
        netloc = parts.netloc
    except ValueError:
        return "<unparseable URL>"
    if "@" in netloc:
        netloc = "***@" + netloc.rpartition("@")[2]
    return urlunsplit((parts.scheme, netloc, parts.path, "&".join(map(_redact_pair, parts.query.split("&")))
                       if parts.query else "", ""))


def _redact_pair(pair: str) -> str:
    """``key=***`` (the value of Local Storage's ``d`` kept), or ``***`` for a bare token."""
    if "=" not in pair:
        return "***"
    key, _, value = pair.partition("=")
    key = unquote_plus(key)
    return urlencode([(key, unquote_plus(value) if key == "d" else "***")], safe="*/")


def _requote(part: str) -> str:
    """Percent-encode what a request line cannot carry (non-ASCII, spaces), leaving escapes as they are."""
    return quote(part, safe="!$%&'()*+,/:;=?@[]~")


def _address_literal(host: str) -> Optional[IPAddress]:
    """The address a URL host spells literally (IPv6 zone ``%25`` unescaped); ``None`` for a name."""
    try:
        return ipaddress.ip_address(host.replace("%25", "%"))
    except ValueError:
        return None


def _idna(host: str) -> str:
    host = host.strip().rstrip(".").lower()
    try:
        return host.encode("idna").decode("ascii") if not host.isascii() else host
    except UnicodeError:
        raise ValueError(f"not a valid host name: {host!r}") from None


def _origin(url: str) -> Tuple[str, str]:
    parts = urlsplit(url)
    return parts.scheme.lower(), parts.netloc.rpartition("@")[2].lower()


def _request_headers(target: _Target, headers: Mapping[str, str]) -> dict:
    sent = {"User-Agent": "focalxl", "Accept-Encoding": "identity"}
    if target.userinfo is not None:
        sent["Authorization"] = "Basic " + b64encode(":".join(target.userinfo).encode()).decode()
    sent.update(headers)
    sent["Host"] = target.authority
    return sent


def _network_reason(error: Exception) -> str:
    """A short cause from the exception's type only (library texts may carry the URL or the answer)."""
    name = type(error).__name__
    reason = getattr(error, "reason", None)
    if "Timeout" in name or "Timeout" in type(reason).__name__:
        return "timed out"
    if "SSL" in name or "SSL" in type(reason).__name__:
        return "TLS handshake failed (VERIFY_SSL=false skips certificate checks)"
    if "NewConnection" in name or "NewConnection" in type(reason).__name__:
        return "cannot connect"
    if "Protocol" in name or "IncompleteRead" in name:
        return "the connection broke off"
    return f"network error ({name})"


def _parse_setting(name: str, value: str, parse: Callable):
    try:
        return parse(value)
    except ValueError:
        raise ValueError(f"{name}: cannot read {value!r}") from None
