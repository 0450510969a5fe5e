"""A misbehaving OpenAI-compatible server, as its own process: ``python fault_server.py MODE PORT``.

MODE ``slow``: every POST waits 30 s before answering; ``garbage``: every POST answers 200 with a body
that is not a chat completion. GET /v1/models answers normally (so the backbone can be built).
"""

import json
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Handler(BaseHTTPRequestHandler):
    mode = "garbage"

    def log_message(self, format: str, *args: object) -> None:
        pass

    def _send(self, code: int, body: bytes) -> None:
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        self._send(
            200, json.dumps({"object": "list", "data": [{"id": "fault-model", "object": "model"}]}).encode()
        )

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.mode == "slow":
            time.sleep(30)
            self._send(200, b"{}")
            return
        self._send(200, b"<html>502 upstream gone \x00 {not json")


if __name__ == "__main__":
    Handler.mode = sys.argv[1]
    server = ThreadingHTTPServer(("127.0.0.1", int(sys.argv[2])), Handler)
    print("ready", flush=True)
    server.serve_forever()
