"""A tiny SMTP server on 127.0.0.1 that keeps every message it is given (``smtpd`` left Python 3.12)."""

from __future__ import annotations

import email
import email.policy
import socketserver
import threading
from email.message import EmailMessage


class _Session(socketserver.StreamRequestHandler):
    server: SmtpSink._Server

    def reply(self, line: str) -> None:
        self.wfile.write(line.encode() + b"\r\n")

    def handle(self) -> None:
        self.reply("220 sink ready")
        while True:
            line = self.rfile.readline().decode(errors="replace").strip()
            verb = line[:4].upper()
            if not line or verb == "QUIT":
                self.reply("221 bye")
                return
            if verb == "DATA":
                self.reply("354 end with a dot")
                lines = []
                while (raw := self.rfile.readline()) not in (b".\r\n", b".\n", b""):
                    lines.append(raw[1:] if raw.startswith(b"..") else raw)
                self.server.sink.received.append(
                    email.message_from_bytes(b"".join(lines), policy=email.policy.default))
                self.reply("250 kept")
            else:  # EHLO, HELO, MAIL, RCPT, RSET, NOOP
                self.reply("250 ok")


class SmtpSink:
    class _Server(socketserver.ThreadingTCPServer):
        daemon_threads = True
        allow_reuse_address = True
        sink: SmtpSink

    def __init__(self) -> None:
        self.received: list[EmailMessage] = []
        self._server = self._Server(("127.0.0.1", 0), _Session)
        self._server.sink = self
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def port(self) -> int:
        return self._server.server_address[1]

    def __enter__(self) -> SmtpSink:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
