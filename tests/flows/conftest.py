"""Fixtures of the flow tests."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.flows.dask_cluster import dask_cluster


@pytest.fixture()
def webhook():
    """A webhook receiver on loopback: yields (url, received JSON bodies); /broken answers 500."""
    received: list[dict] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # the http.server API
            body = self.rfile.read(int(self.headers["Content-Length"]))
            if self.path == "/broken":
                self.send_response(500)
                self.end_headers()
                return
            received.append({"path": self.path, "type": self.headers["Content-Type"], "json": json.loads(body)})
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", received
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """A Dask scheduler and two single-threaded workers, as processes: (address, worker log files)."""
    pytest.importorskip("prefect_dask")
    with dask_cluster(tmp_path_factory.mktemp("dask"), workers=2) as running:
        yield running
