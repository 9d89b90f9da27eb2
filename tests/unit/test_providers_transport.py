"""The adapters' HTTP client (``make_session``) puts on the wire what a ``requests.Session``
does: the contract tests validate the requests ``requests`` makes against the providers'
OpenAPI documents, so the lean client must make the very same ones. Also its TLS settings
and the proxies of the environment."""

import contextlib
import datetime
import gzip
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

import pytest
import requests
from conftest import PROVIDER_CODES, SENDERS
from providers import OutgoingSms, ProviderConfig, ProviderError, get_provider_class, make_session

# Headers that say the same thing whichever client wrote them (or differ by nature).
IGNORED_HEADERS = {"host", "user-agent", "accept-encoding"}


class Recorder:
    """An HTTP server answering 200 ``{}`` to anything, recording each request."""

    def __init__(self):
        self.requests = []
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            def _any(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                recorder.requests.append(
                    {
                        "method": self.command,
                        "target": self.path,
                        "headers": {
                            k.lower(): v
                            for k, v in self.headers.items()
                            if k.lower() not in IGNORED_HEADERS
                        },
                        "body": body,
                    }
                )
                answer = b"{}"
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            do_GET = do_POST = _any

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def recorder():
    server = Recorder()
    yield server
    server.stop()


def _calls(code, base_url, session):
    config = ProviderConfig(
        base_url,
        username="AC0123456789abcdef0123456789abcdef" if code == "twilio" else "user",
        password="Secret-Ção-4711",
        sender=SENDERS[code],
        callback_url="https://odoo.example/cgsms/dlr",
        retries=0,
    )
    provider = get_provider_class(code)(config, session=session)
    message = OutgoingSms("ref-1", "+351912345678", "Olá, ação: 10 € & mais", sender="")
    provider.send([message])
    # "{}" is no balance nor lookup answer: only the requests matter here
    with contextlib.suppress(ProviderError):
        provider.get_balance()
    with contextlib.suppress(ProviderError):
        provider.lookup(message, datetime.datetime(2026, 12, 1))


def _normalised(recorded):
    out = []
    for item in recorded:
        parts = urlsplit(item["target"])
        content_type = item["headers"].get("content-type", "")
        body = item["body"]
        if "x-www-form-urlencoded" in content_type:
            body = sorted(parse_qsl(body.decode()))
        out.append(
            (
                item["method"],
                parts.path,
                sorted(parse_qsl(parts.query)),
                sorted(item["headers"].items()),
                body,
            )
        )
    return out


@pytest.mark.parametrize("code", PROVIDER_CODES)
def test_lean_client_sends_what_requests_sends(recorder, code):
    _calls(code, recorder.url, requests.Session())
    by_requests = _normalised(recorder.requests)
    recorder.requests.clear()
    _calls(code, recorder.url, make_session(4))
    by_lean = _normalised(recorder.requests)
    assert by_requests, "the adapter made no request"
    assert by_lean == by_requests
    # byte for byte, bodies included (JSON and forms alike)
    assert [r[4] for r in by_lean] == [r[4] for r in by_requests]


def test_https_is_verified_against_the_ca_bundle():
    url = "https://api.twilio.com/2010-04-01/Accounts"
    pool, proxied = make_session(2)._route(urlsplit(url))
    assert not proxied
    assert pool.cert_reqs == "CERT_REQUIRED"
    # the bundle requests would verify with (the environment's, else certifi's)
    settings = requests.Session().merge_environment_settings(url, {}, None, None, None)
    assert pool.ca_certs == settings["verify"]


def test_proxy_of_the_environment_is_used(recorder, monkeypatch):
    for name in ("http_proxy", "all_proxy", "ALL_PROXY", "NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTP_PROXY", recorder.url)
    response = make_session(2).request("GET", "http://provider.invalid/api/balance", timeout=2)
    assert response.status_code == 200
    [seen] = recorder.requests
    assert seen["target"] == "http://provider.invalid/api/balance"


def test_never_reached_and_timeouts_raise_as_requests_does(recorder):
    from providers.transport import never_reached

    session = make_session(2)
    with pytest.raises(requests.ConnectionError) as info:
        session.request("POST", "http://127.0.0.1:9/x", json={}, timeout=1)
    assert never_reached(info.value)
    response = session.request("POST", recorder.url + "/x", json={"a": 1}, timeout=1)
    assert response.status_code == 200
    assert response.json() == {}


class RawServer:
    """A TCP server answering each request with the bytes ``answer(request)`` gives (None:
    close the connection without answering), counting the connections it accepted."""

    def __init__(self, answer):
        self.answer = answer
        self.connections = 0
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            try:
                conn, _addr = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self._talk, args=(conn,), daemon=True).start()

    def _talk(self, conn):
        with conn:
            buffer = b""
            while True:
                while b"\r\n\r\n" not in buffer:
                    chunk = conn.recv(65536)
                    if not chunk:
                        return
                    buffer += chunk
                head, buffer = buffer.split(b"\r\n\r\n", 1)
                length = 0
                for line in head.split(b"\r\n")[1:]:
                    name, _sep, value = line.partition(b":")
                    if name.strip().lower() == b"content-length":
                        length = int(value)
                while len(buffer) < length:
                    buffer += conn.recv(65536)
                body, buffer = buffer[:length], buffer[length:]
                reply = self.answer(head + b"\r\n\r\n" + body)
                if reply is None:
                    return
                conn.sendall(reply)
                # "X-Then-Close": the server closes the connection it let the client keep
                if any(m in reply for m in (b"Connection: close", b"X-Then-Close")):
                    return
                if reply.startswith(b"HTTP/1.0"):
                    return

    def stop(self):
        self.sock.close()


@pytest.fixture
def raw_server():
    servers = []

    def start(answer):
        servers.append(RawServer(answer))
        return servers[-1]

    yield start
    for server in servers:
        server.stop()


def _answer(body=b"{}", status=b"200 OK", headers=b""):
    return (
        b"HTTP/1.1 "
        + status
        + b"\r\nContent-Type: application/json\r\n"
        + headers
        + b"Content-Length: "
        + str(len(body)).encode()
        + b"\r\n\r\n"
        + body
    )


def test_direct_client_keeps_its_connection_and_reads_each_framing(raw_server):
    chunked = (
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked"
        b'\r\n\r\n4\r\n{"a"\r\n3;x=y\r\n: 1\r\n1\r\n}\r\n0\r\n\r\n'
    )
    gzipped = gzip.compress(b'{"b": 2}')
    answers = iter(
        [
            b"HTTP/1.1 100 Continue\r\n\r\n" + _answer(b'{"z": 0}'),
            chunked,
            _answer(gzipped, headers=b"Content-Encoding: gzip\r\n"),
            _answer(b"", status=b"204 No Content"),
            _answer(b'{"c": 3}', status=b"429 Too Many Requests", headers=b"Retry-After: 2\r\n"),
        ]
    )
    server = raw_server(lambda _request: next(answers))
    session = make_session(2)
    assert session.request("POST", server.url + "/x", json={}, timeout=2).json() == {"z": 0}
    assert session.request("GET", server.url + "/x", timeout=2).json() == {"a": 1}
    assert session.request("GET", server.url + "/x", timeout=2).json() == {"b": 2}
    assert session.request("GET", server.url + "/x", timeout=2).content == b""
    limited = session.request("GET", server.url + "/x", timeout=2)
    assert (limited.status_code, limited.headers["retry-after"]) == (429, "2")
    assert server.connections == 1, "one kept-alive connection for the five calls"


def test_direct_client_opens_a_new_connection_when_the_server_closed_the_kept_one(raw_server):
    server = raw_server(lambda _request: _answer(headers=b"Connection: close\r\n"))
    session = make_session(2)
    for _call in range(3):
        assert session.request("GET", server.url + "/x", timeout=2).status_code == 200
    assert server.connections == 3
    # HTTP/1.0 without keep-alive: closed after each answer too
    old = raw_server(lambda _request: b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\n{}")
    for _call in range(2):
        assert session.request("GET", old.url + "/x", timeout=2).json() == {}
    assert old.connections == 2


def test_direct_client_drops_a_kept_connection_the_server_closed_meanwhile(raw_server):
    server = raw_server(lambda _request: _answer(headers=b"X-Then-Close: 1\r\n"))
    session = make_session(2)
    for _call in range(3):
        assert session.request("POST", server.url + "/x", json={}, timeout=2).status_code == 200
        time.sleep(0.05)  # the server's close reaches the idle connection
    # each call on a new connection, none failing on the one the server had closed
    assert server.connections == 3


def test_direct_client_failures_after_sending_may_have_been_taken(raw_server):
    from providers.transport import never_reached

    session = make_session(2)
    # the connection closed without an answer: the request left, the provider may have it
    dropped = raw_server(lambda _request: None)
    with pytest.raises(requests.ConnectionError) as info:
        session.request("POST", dropped.url + "/x", json={}, timeout=2)
    assert not never_reached(info.value)
    # no answer in time: a read timeout, not a connect timeout
    silent = raw_server(lambda _request: time.sleep(1.5) or None)
    with pytest.raises(requests.ReadTimeout) as timeout_info:
        session.request("POST", silent.url + "/x", json={}, timeout=0.3)
    assert not isinstance(timeout_info.value, requests.ConnectTimeout)
    # an answer that is not HTTP
    garbage = raw_server(lambda _request: b"SMTP ready\r\n\r\n")
    with pytest.raises(requests.ConnectionError) as info:
        session.request("POST", garbage.url + "/x", json={}, timeout=2)
    assert not never_reached(info.value)


def test_direct_client_refuses_a_server_that_does_not_prove_itself_in_tls():
    # A server on loopback that answers the TLS greeting with plain HTTP: the handshake fails
    # before anything is sent, as requests reports it.
    sock = socket.create_server(("127.0.0.1", 0))

    def serve():
        conn, _addr = sock.accept()
        with conn:
            conn.recv(65536)
            conn.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")

    threading.Thread(target=serve, daemon=True).start()
    url = f"https://127.0.0.1:{sock.getsockname()[1]}/x"
    try:
        with pytest.raises(requests.exceptions.SSLError):
            make_session(2).request("POST", url, json={}, timeout=2)
    finally:
        sock.close()


def _self_signed(tmp_path, name):
    """A certificate for ``name`` (an IP address) and its key, as PEM files."""
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(name))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return str(cert_file), str(key_file)


def test_direct_client_speaks_tls_verified_against_the_environments_bundle(
    tmp_path, monkeypatch, recorder
):
    import ssl

    cert_file, key_file = _self_signed(tmp_path, "127.0.0.1")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_file, key_file)
    # the recorder's server, in TLS and HTTP/1.1 (kept alive)
    recorder.server.RequestHandlerClass.protocol_version = "HTTP/1.1"
    recorder.server.socket = context.wrap_socket(recorder.server.socket, server_side=True)
    url = recorder.url.replace("http://", "https://") + "/2010-04-01/x?a=1"
    # Not in the default bundle: refused, before anything is sent.
    with pytest.raises(requests.exceptions.SSLError):
        make_session(2).request("POST", url, json={"a": 1}, timeout=2)
    assert not recorder.requests
    # In the bundle the environment names (as requests reads it): verified, and kept alive.
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", cert_file)
    session = make_session(2)
    for call in range(3):
        response = session.request("POST", url, json={"call": call}, timeout=2)
        assert response.status_code == 200 and response.json() == {}
    assert [r["body"] for r in recorder.requests] == [
        b'{"call": 0}',
        b'{"call": 1}',
        b'{"call": 2}',
    ]
    assert [r["target"] for r in recorder.requests] == ["/2010-04-01/x?a=1"] * 3
