"""focalxl.fetch: public addresses only (after DNS, on every hop, pinned), bounded in time and size."""
from __future__ import annotations

import base64
import ipaddress
import ssl
import time

from urllib.parse import quote, unquote

import pytest
import urllib3
from hypothesis import given
from hypothesis import strategies as st
from fetch_servers import Canary, ScriptedServer, certificates
from focalxl.fetch import (FetchFailed, FetchPolicy, FetchRefused, FetchTooLarge, Trusted, forbidden_reason,
                           redact_url)


@pytest.fixture(scope="module")
def canary():
    listener = Canary()
    yield listener
    listener.close()


@pytest.fixture(scope="module")
def host():
    server = ScriptedServer()
    yield server
    server.close()


def trusting(host: ScriptedServer, **options) -> FetchPolicy:
    """A policy that trusts only the scripted server's address and port."""
    return FetchPolicy(allow=(f"127.0.0.1:{host.port}",), **options)


@pytest.mark.parametrize("spelling", ["loopback", "decimal", "octal", "hex", "ipv4-mapped", "hostname",
                                      "upper-case scheme"])
def test_every_spelling_of_a_loopback_address_is_refused_without_connecting(canary, spelling):
    with pytest.raises(FetchRefused, match="loopback"):
        FetchPolicy().fetch(canary.urls()[spelling])
    assert canary.connections == []


@pytest.mark.parametrize("address, reason", [
    ("169.254.169.254", "link-local"), ("10.1.2.3", "private"), ("192.168.0.1", "private"),
    ("100.64.0.1", "non-public"), ("224.0.0.1", "multicast"), ("0.0.0.0", "unspecified"), ("240.0.0.1", "reserved"),
    ("::1", "loopback"), ("fe80::1", "link-local"), ("fd00::1", "private"), ("::ffff:169.254.169.254", "link-local"),
    ("2002:a9fe:a9fe::", "link-local"), ("64:ff9b::a9fe:a9fe", "link-local"), ("fec0::1", "site-local"),
    ("::127.0.0.1", "reserved"), ("255.255.255.255", "reserved"), ("198.18.0.1", "private"), ("8.8.8.8", None),
    ("2606:4700::1111", None)])
def test_forbidden_reason_names_the_address_class_including_embedded_ipv4(address, reason):
    assert forbidden_reason(ipaddress.ip_address(address)) == reason


def test_a_host_name_is_checked_after_resolution_and_the_connection_goes_to_the_checked_address(host, canary):
    asked = []

    def rebinding(name, port):
        asked.append(name)
        return ["127.0.0.1"] if len(asked) == 1 else ["169.254.169.254"]

    host.file("/pinned.png", b"pinned")
    policy = FetchPolicy(allow=("127.0.0.0/8",), resolve=rebinding)
    assert policy.fetch(f"http://images.example:{host.port}/pinned.png") == b"pinned"
    assert asked == ["images.example"]   # resolved once; the connection used that answer
    path, headers = host.requests[-1]
    assert path == "/pinned.png" and headers["Host"] == f"images.example:{host.port}"
    with pytest.raises(FetchRefused, match="link-local"):
        policy.fetch(f"http://images.example:{host.port}/pinned.png")
    assert canary.connections == []


def test_a_redirect_from_a_trusted_server_to_a_loopback_address_is_refused(host, canary):
    for status in (301, 302, 303, 307, 308):
        url = host.redirect(f"/to-canary-{status}", canary.urls()["decimal"], status)
        with pytest.raises(FetchRefused, match=r"redirect 1\).*loopback"):
            trusting(host).fetch(url)
    assert canary.connections == []


def test_a_redirect_within_the_trusted_server_is_followed_and_drops_credentials_off_origin(host):
    host.file("/target.png", b"image bytes")
    assert trusting(host).fetch(host.redirect("/hop", "/target.png")) == b"image bytes"
    assert host.requests[-1][1].get("Authorization") is None
    policy = FetchPolicy(allow=("127.0.0.0/8",))
    other = host.redirect("/off-origin", f"http://localhost:{host.port}/target.png")
    assert policy.fetch(other, headers={"Authorization": "Token secret"}) == b"image bytes"
    assert host.requests[-2][1]["Authorization"] == "Token secret" and "Authorization" not in host.requests[-1][1]


def test_userinfo_is_sent_as_basic_auth_and_idn_hosts_travel_as_punycode(host):
    host.file("/private.png", b"private")
    assert trusting(host).fetch(f"http://us%C3%A9r:p%40ss@127.0.0.1:{host.port}/private.png") == b"private"
    assert host.requests[-1][1]["Authorization"] == "Basic " + base64.b64encode("usér:p@ss".encode()).decode()
    policy = FetchPolicy(allow=("127.0.0.0/8",), resolve=lambda name, port: ["127.0.0.1"])
    assert policy.fetch(f"http://bücher.example:{host.port}/private.png") == b"private"
    assert host.requests[-1][1]["Host"] == f"xn--bcher-kva.example:{host.port}"


def test_redirect_loops_end_with_a_failure(host):
    url = host.redirect("/loop", "/loop")
    with pytest.raises(FetchFailed, match="more than 2 redirects"):
        trusting(host, max_redirects=2).fetch(url)


def test_a_size_over_the_cap_is_refused_from_content_length_and_from_the_streamed_bytes(host):
    with pytest.raises(FetchTooLarge, match="announced"):
        trusting(host, max_bytes=1000).fetch(host.endless("/announced", announce=True))
    started = time.monotonic()
    with pytest.raises(FetchTooLarge, match="more than 1000000 bytes.*FOCALXL_MAX_IMAGE_BYTES"):
        trusting(host, max_bytes=1_000_000).fetch(host.endless("/unannounced"))
    assert time.monotonic() - started < 5


def test_an_answer_shorter_than_announced_is_a_failure_not_a_short_image(host):
    with pytest.raises(FetchFailed, match="broke off"):
        trusting(host).fetch(host.truncated("/truncated.png"))


def test_a_trickling_answer_ends_at_the_deadline(host):
    started = time.monotonic()
    with pytest.raises(FetchFailed, match="1.5 s deadline"):
        trusting(host, deadline=1.5, read_timeout=1).fetch(host.slow("/slow", 0.2))
    assert time.monotonic() - started < 3


def test_http_errors_and_closed_ports_fail_with_a_message_that_carries_no_secret(host):
    with pytest.raises(FetchFailed, match="HTTP 404") as error:
        trusting(host).fetch(f"{host.url}/missing.png?X-Amz-Signature=sig-123")
    assert "sig-123" not in str(error.value)
    with pytest.raises(FetchFailed, match="cannot connect"):
        FetchPolicy(allow=("127.0.0.1",)).fetch("http://127.0.0.1:9/x.png")


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://example.com/x", "s3://bucket/key", "gs://b/k",
                                 "azure-blob://c/b", "/data/local-files/?d=x.png", "http:///nohost", "", "http://[::1"])
def test_only_http_and_https_urls_with_a_host_are_fetched(url):
    with pytest.raises(FetchRefused):
        FetchPolicy().fetch(url)


@pytest.mark.parametrize("url, shown", [
    ("https://bucket.s3.amazonaws.com/a.png?X-Amz-Signature=abc&X-Amz-Credential=def",
     "https://bucket.s3.amazonaws.com/a.png?X-Amz-Signature=***&X-Amz-Credential=***"),
    ("HTTPS://user:pa55@Host.example/%C3%A9t%C3%A9.png?sig=abc#frag", "https://***@Host.example/%C3%A9t%C3%A9.png?sig=***"),
    ("http://h/été.png?Signature=abc", "http://h/été.png?Signature=***"),
    ("http://h/data/local-files/?d=dir/1.jpg", "http://h/data/local-files/?d=dir/1.jpg"),
    ("http://h/p?%53ignature=abc", "http://h/p?Signature=***"),
    ("http://h/p?just-a-token&d=a%2Fb.png", "http://h/p?***&d=a/b.png"),
])
def test_redaction_works_on_the_parsed_url_whatever_its_spelling(url, shown):
    assert redact_url(url) == shown


@given(scheme=st.sampled_from(["http", "HTTP", "Https", "s3", "gs"]),    # no lone surrogates: no URL text has them
       path=st.text(st.characters(blacklist_categories=("Cs",)), max_size=12).map(quote),
       key=st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="&=#d"), min_size=1, max_size=8),
       secret=st.from_regex(r"[A-Za-z0-9]{12}", fullmatch=True), encode_secret=st.booleans(),
       in_userinfo=st.booleans(), fragment=st.booleans())
def test_no_spelling_of_a_url_lets_a_query_value_or_a_password_through(scheme, path, key, secret, encode_secret,
                                                                        in_userinfo, fragment):
    shown = quote(secret, safe="") if not encode_secret else "".join(f"%{ord(c):02X}" for c in secret)
    userinfo = f"user:{shown}@" if in_userinfo else ""
    url = f"{scheme}://{userinfo}Host.example:8080/{path}?{quote(key)}={shown}" + ("#frag" if fragment else "")
    redacted = redact_url(url)
    assert secret not in redacted and secret not in unquote(redacted)


def test_settings_come_from_the_environment_and_trust_label_studios_host():
    policy = FetchPolicy.from_env({"FOCALXL_FETCH_ALLOW": "10.0.0.0/8, images.local:8080, [::1]:9",
                                   "FOCALXL_FETCH_DEADLINE": "7", "FOCALXL_MAX_IMAGE_BYTES": "123",
                                   "LABEL_STUDIO_URL": "http://label-studio:8080", "VERIFY_SSL": "false"})
    assert policy.allow == (Trusted(network=ipaddress.ip_network("10.0.0.0/8")), Trusted(name="images.local", port=8080),
                            Trusted(network=ipaddress.ip_network("::1/128"), port=9),
                            Trusted(name="label-studio", port=8080))
    assert (policy.deadline, policy.max_bytes, policy.verify_tls) == (7.0, 123, False)
    with pytest.raises(ValueError, match="FOCALXL_FETCH_DEADLINE"):
        FetchPolicy.from_env({"FOCALXL_FETCH_DEADLINE": "soon"})
    with pytest.raises(ValueError, match="deadline"):
        FetchPolicy.from_env({"FOCALXL_FETCH_DEADLINE": "inf"})


def test_https_checks_the_certificate_against_the_url_host_while_connecting_to_the_checked_address(tmp_path):
    ca, cert, key = certificates(tmp_path, "images.test")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server = ScriptedServer(tls=context)
    try:
        server.file("/a.png", b"over tls")
        resolve = lambda name, port: ["127.0.0.1"]
        policy = FetchPolicy(allow=("127.0.0.0/8",), ca_bundle=str(ca), resolve=resolve)
        assert policy.fetch(f"https://images.test:{server.port}/a.png") == b"over tls"
        with pytest.raises(FetchFailed, match="TLS"):   # the name the certificate is not for
            FetchPolicy(allow=("127.0.0.0/8",), ca_bundle=str(ca), resolve=resolve).fetch(
                f"https://other.test:{server.port}/a.png")
        with pytest.raises(FetchFailed, match="TLS"):   # a CA nobody trusts
            FetchPolicy(allow=("127.0.0.0/8",), resolve=resolve).fetch(f"https://images.test:{server.port}/a.png")
        unverified = FetchPolicy(allow=("127.0.0.0/8",), verify_tls=False, resolve=resolve)
        with pytest.warns(urllib3.exceptions.InsecureRequestWarning):   # VERIFY_SSL=false says so in the logs
            assert unverified.fetch(f"https://other.test:{server.port}/a.png") == b"over tls"
    finally:
        server.close()
