"""Kept-alive HTTP/1.1 connections written and read directly, for the providers the adapters
reach without a proxy (see ``transport``): one ``sendall`` per request and the answer's head
split here, instead of ``http.client`` (which parses each answer's headers with the standard
library's e-mail parser) under urllib3's per-call bookkeeping.

What a failure says is the same as with ``requests``: a connection that could not be opened
(refused, DNS failure) raises ``requests.ConnectionError`` around ``NotConnected`` (never
reached), a connect or TLS handshake timeout ``requests.ConnectTimeout``, a certificate or
handshake refused ``requests.exceptions.SSLError``, and anything after the request started
to leave ``requests.ReadTimeout`` or ``requests.ConnectionError`` (it may have been taken)."""

import collections
import select
import socket
import ssl
import threading
import zlib

import requests
from requests.structures import CaseInsensitiveDict


class NotConnected(OSError):
    """The connection could not be opened (refused, DNS failure...): nothing was sent."""


# The longest head of an answer read (status line and headers).
_MAX_HEAD = 65536
_DEFAULT_PORTS = {"http": 80, "https": 443}


class DirectPool:
    """Kept-alive HTTP/1.1 connections to one host (``parts``: the URL split), up to
    ``maxsize`` idle at a time; TLS verified against ``ca_certs`` (or ``ca_cert_dir``) for
    https. Thread-safe: a socket is used by one call at a time."""

    def __init__(self, parts, maxsize, cert_reqs=None, ca_certs=None, ca_cert_dir=None):
        self.scheme = parts.scheme
        self.host = parts.hostname
        self.port = parts.port or _DEFAULT_PORTS.get(parts.scheme, 80)
        # As http.client writes it: the port only when it is not the scheme's.
        host = f"[{self.host}]" if ":" in self.host else self.host
        default = parts.port in (None, _DEFAULT_PORTS.get(parts.scheme))
        self.host_header = host if default else f"{host}:{parts.port}"
        self.maxsize = maxsize
        self.cert_reqs = cert_reqs
        self.ca_certs = ca_certs
        self.ca_cert_dir = ca_cert_dir
        self._idle = collections.deque()
        self._lock = threading.Lock()
        self._tls = None

    def close(self):
        with self._lock:
            idle, self._idle = self._idle, collections.deque()
        for sock in idle:
            sock.close()

    def _tls_context(self):
        if self._tls is None:
            self._tls = ssl.create_default_context(cafile=self.ca_certs, capath=self.ca_cert_dir)
        return self._tls

    def _connect(self, connect_timeout):
        try:
            sock = socket.create_connection((self.host, self.port), timeout=connect_timeout)
        except TimeoutError as exc:
            raise requests.ConnectTimeout(f"{self.host}: connection timed out") from exc
        except OSError as exc:
            raise requests.ConnectionError(NotConnected(f"{self.host}: {exc}")) from None
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if self.scheme == "https":
                sock = self._tls_context().wrap_socket(sock, server_hostname=self.host)
        except TimeoutError as exc:
            sock.close()
            raise requests.ConnectTimeout(f"{self.host}: TLS handshake timed out") from exc
        except ssl.SSLError as exc:
            sock.close()
            raise requests.exceptions.SSLError(f"{self.host}: {exc}") from None
        except OSError as exc:
            sock.close()
            raise requests.ConnectionError(f"{self.host}: {exc}") from None
        return sock

    def _checkout(self, connect_timeout):
        """An idle connection still open (one the server closed meanwhile is readable: it is
        dropped, as urllib3 does), else a new one."""
        while True:
            with self._lock:
                sock = self._idle.pop() if self._idle else None
            if sock is None:
                return self._connect(connect_timeout)
            if not _dropped(sock):
                return sock
            sock.close()

    def _checkin(self, sock):
        with self._lock:
            if len(self._idle) < self.maxsize:
                self._idle.append(sock)
                return
        sock.close()

    def send(self, method, target, body, headers, connect_timeout, read_timeout):
        """One request; (status, reason, headers, content) of its answer."""
        lines = [f"{method} {target} HTTP/1.1", f"Host: {self.host_header}"]
        lines += [f"{name}: {value}" for name, value in headers.items()]
        if body is not None:
            lines.append(f"Content-Length: {len(body)}")
        data = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + (body or b"")
        sock = self._checkout(connect_timeout)
        keep = False
        try:
            sock.settimeout(read_timeout)
            try:
                sock.sendall(data)
                status, reason, answer, content, keep = _read_answer(sock, method)
            except TimeoutError as exc:
                raise requests.ReadTimeout(f"{self.host}: no answer in time") from exc
            except (OSError, ValueError) as exc:
                raise requests.ConnectionError(f"{self.host}: {exc}") from None
        finally:
            if keep:
                self._checkin(sock)
            else:
                sock.close()
        return status, reason, answer, content


def _dropped(sock):
    """Whether an idle kept-alive connection can no longer be used: the server closed it (or
    sent something unasked), which makes it readable."""
    if isinstance(sock, ssl.SSLSocket) and sock.pending():
        return True
    try:
        poller = select.poll()
        poller.register(sock, select.POLLIN)
        return bool(poller.poll(0))
    except (OSError, ValueError):
        return True


def _read_answer(sock, method):
    """Read one answer: (status, reason, headers, content, whether the connection stays
    open). ``ConnectionError`` (an ``OSError``) when the server closes it before the end."""
    buffer = b""
    while True:
        end = buffer.find(b"\r\n\r\n")
        while end < 0:
            if len(buffer) > _MAX_HEAD:
                raise ValueError("answer head too long")
            chunk = sock.recv(65536)
            if not chunk:
                raise ConnectionError("connection closed before the answer")
            buffer += chunk
            end = buffer.find(b"\r\n\r\n")
        head, buffer = buffer[:end].decode("latin-1").split("\r\n"), buffer[end + 4 :]
        version, _sep, rest = head[0].partition(" ")
        code, _sep, reason = rest.partition(" ")
        if not version.startswith("HTTP/") or not code.isdigit():
            raise ValueError(f"not an HTTP answer: {head[0][:40]!r}")
        status = int(code)
        if 100 <= status < 200:
            continue  # an interim answer (100 Continue): the real one follows
        break
    headers = CaseInsensitiveDict()
    for line in head[1:]:
        name, _sep, value = line.partition(":")
        name, value = name.strip(), value.strip()
        headers[name] = f"{headers[name]}, {value}" if name in headers else value
    connection = headers.get("Connection", "").lower()
    keep = "close" not in connection and (version != "HTTP/1.0" or "keep-alive" in connection)
    if method == "HEAD" or status in (204, 304):
        content = b""
    elif "chunked" in headers.get("Transfer-Encoding", "").lower():
        content, buffer = _read_chunked(sock, buffer)
    elif "Content-Length" in headers:
        length = int(headers["Content-Length"])
        while len(buffer) < length:
            chunk = sock.recv(max(65536, length - len(buffer)))
            if not chunk:
                raise ConnectionError("connection closed before the end of the answer")
            buffer += chunk
        content, buffer = buffer[:length], buffer[length:]
    else:
        chunks = [buffer]
        while chunk := sock.recv(65536):
            chunks.append(chunk)
        content, buffer, keep = b"".join(chunks), b"", False
    if buffer:
        keep = False  # more than one answer: never reuse that connection
    encoding = headers.get("Content-Encoding", "").lower()
    if content and encoding in ("gzip", "x-gzip"):
        content = zlib.decompress(content, 16 + zlib.MAX_WBITS)
    elif content and encoding == "deflate":
        try:
            content = zlib.decompress(content)
        except zlib.error:
            content = zlib.decompress(content, -zlib.MAX_WBITS)
    return status, reason, headers, content, keep


def _read_chunked(sock, buffer):
    """The body of a chunked answer, and what follows it in ``buffer``."""
    parts = []
    while True:
        while b"\r\n" not in buffer:
            chunk = sock.recv(65536)
            if not chunk:
                raise ConnectionError("connection closed in a chunked answer")
            buffer += chunk
        size_line, buffer = buffer.split(b"\r\n", 1)
        size = int(size_line.split(b";", 1)[0].strip() or b"0", 16)
        while len(buffer) < size + 2:
            chunk = sock.recv(65536)
            if not chunk:
                raise ConnectionError("connection closed in a chunked answer")
            buffer += chunk
        if size == 0:
            # the trailer (usually empty) ends with an empty line
            while not (buffer.startswith(b"\r\n") or b"\r\n\r\n" in buffer):
                chunk = sock.recv(65536)
                if not chunk:
                    raise ConnectionError("connection closed in a chunked answer")
                buffer += chunk
            if buffer.startswith(b"\r\n"):
                return b"".join(parts), buffer[2:]
            return b"".join(parts), buffer.split(b"\r\n\r\n", 1)[1]
        parts.append(buffer[:size])
        buffer = buffer[size + 2 :]
