"""A small orders API on the standard library: the same unchanged app runs as a container (on
$PORT) and as a Lambda function behind coldbench's Lambda Web Adapter (which sets PORT too)."""

import json
import os
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

# Work done once per process, as an app's start-up (imports, connections) would be.
STARTED = time.time()
ORDERS = {str(n): {"id": str(n), "items": ["tea"] * (n % 3 + 1)} for n in range(1, 101)}


class Orders(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes: without this, Nagle's algorithm holds the second
    # until the client's delayed ACK, 40 ms on Linux, on every kept-alive request.
    disable_nagle_algorithm = True

    def answer(self, status, value):
        body = json.dumps(value).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        if self.path == "/healthz":
            return self.answer(200, {"up_s": round(time.time() - STARTED, 3)})
        if self.path.startswith("/orders/"):
            order = ORDERS.get(self.path.removeprefix("/orders/").split("?")[0])
            return self.answer(200, order) if order else self.answer(404, {"error": "no such order"})
        return self.answer(404, {"error": "not found"})

    def do_POST(self):
        if self.path != "/orders":
            return self.answer(404, {"error": "not found"})
        length = int(self.headers.get("content-length") or 0)
        try:
            order = json.loads(self.rfile.read(length) or b"{}")
        except ValueError:
            return self.answer(400, {"error": "not JSON"})
        # A little CPU, as validating and pricing an order would take.
        total = sum(hash((item, i)) % 7 for i, item in enumerate(order.get("items", []) * 200))
        return self.answer(201, {"accepted": order.get("items", []), "check": total})

    def log_message(self, *args):
        pass


if __name__ == "__main__":
    ThreadingHTTPServer(("127.0.0.1", int(os.environ.get("PORT", "8080"))), Orders).serve_forever()
