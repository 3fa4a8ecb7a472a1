"""Real local servers for channel tests: an HTTP webhook receiver (stdlib
http.server in a thread) and an SMTP server (aiosmtpd) with STARTTLS and AUTH."""

from __future__ import annotations

import json
import shutil
import socket
import secrets
import ssl
import subprocess
import threading
from email import message_from_bytes
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class WebhookServer:
    """Collects JSON POSTs. ``fail_next`` answers that many requests with HTTP 500."""

    def __init__(self, port: int | None = None):
        self.port = port or free_port()
        self.received: list[dict] = []
        self.fail_next = 0
        self.requests = 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                outer.requests += 1
                if outer.fail_next > 0:
                    outer.fail_next -= 1
                    self.send_response(500)
                    self.end_headers()
                    return
                outer.received.append({"path": self.path, "content_type": self.headers.get("Content-Type"),
                                       "json": json.loads(body)})
                self.send_response(200)
                self.send_header("Content-Type", "text/plain")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks/bizintel"

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


class _Collector:
    def __init__(self):
        self.messages: list[tuple[str, list[str], Message]] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), message_from_bytes(envelope.content)))
        return "250 Message accepted for delivery"


def make_certificate(directory: Path) -> tuple[Path, Path] | None:
    """A self-signed certificate for 127.0.0.1 (openssl CLI), or None without openssl."""
    openssl = shutil.which("openssl")
    if not openssl:
        return None
    cert, key = directory / "smtp-cert.pem", directory / "smtp-key.pem"
    subprocess.run(
        [openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(cert),
         "-days", "2", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True, capture_output=True, timeout=60,
    )
    return cert, key


class SmtpServer:
    """aiosmtpd on 127.0.0.1. With a certificate: STARTTLS offered and AUTH only
    after it (aiosmtpd's default); credentials are checked."""

    def __init__(self, certificate: tuple[Path, Path] | None = None, username: str = "alerts"):
        self.port = free_port()
        # a fresh password per server: no credential literal in the repository
        self.username, self.password = username, secrets.token_urlsafe(12)
        self.collector = _Collector()
        self.logins: list[str] = []
        self.tls = certificate is not None
        credentials = (username.encode(), self.password.encode())

        def authenticator(server, session, envelope, mechanism, auth_data):
            ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == credentials
            if ok:
                self.logins.append(auth_data.login.decode())
            return AuthResult(success=ok)

        kwargs = {"authenticator": authenticator, "auth_required": True}
        if certificate:
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(str(certificate[0]), str(certificate[1]))
            kwargs.update(tls_context=context, require_starttls=True)
        else:
            kwargs.update(auth_require_tls=False)
        self.controller = Controller(self.collector, hostname="127.0.0.1", port=self.port, **kwargs)

    @property
    def messages(self):
        return self.collector.messages

    def __enter__(self):
        self.controller.start()
        return self

    def __exit__(self, *exc):
        self.controller.stop()
