"""Local HTTP servers for outgoing-fetch tests: a canary that must hear nothing, and a scripted file host."""
from __future__ import annotations

import http.server
import shutil
import socket
import ssl
import subprocess
import threading
import time
from pathlib import Path
from typing import Callable, Dict, List, Optional, Tuple


class Canary:
    """A TCP listener on 127.0.0.1 that records every connection made to it (a fetch must make none)."""

    def __init__(self):
        self.socket = socket.socket()
        self.socket.bind(("127.0.0.1", 0))
        self.socket.listen(16)
        self.port = self.socket.getsockname()[1]
        self.connections: List[Tuple[str, int]] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                connection, peer = self.socket.accept()
            except OSError:
                return
            self.connections.append(peer)
            connection.close()

    def urls(self, path: str = "/latest/meta-data/") -> Dict[str, str]:
        """Ways to spell this listener's address, each leading to it."""
        return {"loopback": f"http://127.0.0.1:{self.port}{path}",
                "decimal": f"http://2130706433:{self.port}{path}",
                "octal": f"http://0177.0.0.1:{self.port}{path}",
                "hex": f"http://0x7f000001:{self.port}{path}",
                "ipv4-mapped": f"http://[::ffff:127.0.0.1]:{self.port}{path}",
                "hostname": f"http://localhost:{self.port}{path}",
                "upper-case scheme": f"HTTP://127.0.0.1:{self.port}{path}"}

    def close(self) -> None:
        self.socket.close()


Route = Callable[[http.server.BaseHTTPRequestHandler], None]


class ScriptedServer:
    """An HTTP server on 127.0.0.1 answering each path with a route: files, redirects, slow or huge bodies."""

    def __init__(self, tls: Optional[ssl.SSLContext] = None):
        self.routes: Dict[str, Route] = {}
        self.requests: List[Tuple[str, Dict[str, str]]] = []
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                server.requests.append((self.path, dict(self.headers)))
                route = server.routes.get(self.path.split("?")[0])
                if route is None:
                    self.send_error(404)
                    return
                try:
                    route(self)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        if tls is not None:
            self.httpd.socket = tls.wrap_socket(self.httpd.socket, server_side=True)
        self.port = self.httpd.server_address[1]
        self.url = f"{'https' if tls else 'http'}://127.0.0.1:{self.port}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def file(self, path: str, data: bytes, content_type: str = "image/png") -> str:
        def route(handler):
            handler.send_response(200)
            handler.send_header("Content-Type", content_type)
            handler.send_header("Content-Length", str(len(data)))
            handler.end_headers()
            handler.wfile.write(data)
        self.routes[path] = route
        return self.url + path

    def redirect(self, path: str, location: str, status: int = 302) -> str:
        def route(handler):
            handler.send_response(status)
            handler.send_header("Location", location)
            handler.send_header("Content-Length", "0")
            handler.end_headers()
        self.routes[path] = route
        return self.url + path

    def slow(self, path: str, seconds_per_byte: float, size: int = 1000) -> str:
        """A body that trickles in one byte at a time, each read well within a read timeout."""
        def route(handler):
            handler.send_response(200)
            handler.send_header("Content-Length", str(size))
            handler.end_headers()
            for _ in range(size):
                handler.wfile.write(b"x")
                handler.wfile.flush()
                time.sleep(seconds_per_byte)
        self.routes[path] = route
        return self.url + path

    def truncated(self, path: str) -> str:
        """An answer that announces 100 bytes, sends 10 and hangs up."""
        def route(handler):
            handler.send_response(200)
            handler.send_header("Content-Length", "100")
            handler.end_headers()
            handler.wfile.write(b"x" * 10)
            handler.close_connection = True
        self.routes[path] = route
        return self.url + path

    def endless(self, path: str, announce: bool = False) -> str:
        """An answer that never ends (no Content-Length), or announces ``2**40`` bytes."""
        def route(handler):
            handler.send_response(200)
            if announce:
                handler.send_header("Content-Length", str(2 ** 40))
            handler.end_headers()
            block = b"\0" * 65536
            for _ in range(100_000):
                handler.wfile.write(block)
        self.routes[path] = route
        return self.url + path

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def certificates(folder: Path, name: str) -> Tuple[Path, Path, Path]:
    """A private CA and a server certificate for ``name`` signed by it (openssl): (ca, cert, key)."""
    if shutil.which("openssl") is None:
        import pytest
        pytest.skip("openssl is not installed")
    ca_key, ca, key, request, cert = (folder / n for n in ("ca.key", "ca.pem", "server.key", "server.csr", "server.pem"))
    run = lambda *args: subprocess.run(["openssl", *args], check=True, capture_output=True)
    run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(ca_key), "-out", str(ca), "-days", "2",
        "-subj", "/CN=focalxl test CA")
    run("req", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(request), "-subj", f"/CN={name}")
    extensions = folder / "san.cnf"
    extensions.write_text(f"subjectAltName=DNS:{name}\n")
    run("x509", "-req", "-in", str(request), "-CA", str(ca), "-CAkey", str(ca_key), "-CAcreateserial", "-out", str(cert),
        "-days", "2", "-extfile", str(extensions))
    return ca, cert, key
