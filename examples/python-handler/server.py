"""The container side: the same logic behind a standard-library HTTP server on $PORT."""

import json
import os
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from orders import price


class Prices(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def answer(self, status, value):
        body = json.dumps(value).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        self.answer(200, {"ok": True})

    def do_POST(self):
        length = int(self.headers.get("content-length") or 0)
        status, body = price(json.loads(self.rfile.read(length) or b"{}"))
        self.answer(status, body)

    def log_message(self, *args):
        pass


ThreadingHTTPServer(("127.0.0.1", int(os.environ["PORT"])), Prices).serve_forever()
