"""The HTTP side: one thread per connection, each request read, handed to the gateway, and its
reply written back (or the connection dropped)."""

import contextlib
import json
import logging
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

from .common import json_reply

_logger = logging.getLogger(__name__)

INTERNAL_ERROR = {"error": {"code": "internal", "message": "internal error"}}


class Handler(BaseHTTPRequestHandler):
    server_version = "CgSmsFakeGateway/1.0"
    protocol_version = "HTTP/1.1"
    # Headers and body leave in two writes: without TCP_NODELAY, Nagle's algorithm and the
    # client's delayed ACK add ~40 ms to every kept-alive call (benchmark numbers).
    disable_nagle_algorithm = True

    def do_GET(self):
        self._handle()

    def do_POST(self):
        self._handle()

    def log_message(self, format, *args):
        pass  # request lines carry credentials (query strings): never log them

    def _handle(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        gateway = self.server.gateway
        gateway.wait_latency(self.path)
        try:
            reply = gateway.dispatch(self.command, self.path, self.headers, body)
        except Exception:
            _logger.exception("fake gateway: error while handling %s", urlsplit(self.path).path)
            reply = json_reply(500, INTERNAL_ERROR)
        if reply.drop:  # the message was taken: close the connection without answering
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(2)
            return
        data = reply.body.encode("utf-8")
        try:
            self.send_response(reply.status)
            self.send_header("Content-Type", reply.content_type)
            self.send_header("Content-Length", str(len(data)))
            for key, value in reply.headers.items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(data)
        except OSError:
            _logger.debug("fake gateway: the client gave up before the answer (timeout tests)")


class Server(ThreadingHTTPServer):
    daemon_threads = True
    # Many calls in flight open many connections at once: the default backlog (5) would
    # drop SYNs and add a second of latency to the calls that overflow it.
    request_queue_size = 256
    block_on_close = False
    allow_reuse_address = True


def parse_request(command, target, headers, body):
    """The request as the handlers read it, or the reply to a body that is not JSON."""
    parts = urlsplit(target)
    request = {
        "method": command,
        "path": parts.path,
        "query": dict(parse_qsl(parts.query, keep_blank_values=True)),
        "headers": {k.lower(): v for k, v in headers.items()},
        "body": body,
        "form": {},
        "json": None,
    }
    content_type = request["headers"].get("content-type", "")
    if "application/x-www-form-urlencoded" in content_type:
        request["form"] = dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
    elif "json" in content_type and body:
        try:
            request["json"] = json.loads(body)
        except ValueError:
            return None, json_reply(400, {"error": {"code": "bad_json", "message": "Bad JSON"}})
    return request, None
