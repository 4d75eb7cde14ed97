"""Nuclio's side, for tests: ``serverless/cvat/nuclio/main.py`` run through ``nuclio_sdk.test.Platform``,
and behind a local HTTP server that turns each POST into a Nuclio event the way the runtime
does (``Event.deserialize``: a JSON body becomes a dict when the Content-Type says so) and the
handler's output into the HTTP reply (``Response.from_entrypoint_output``)."""
from __future__ import annotations

import base64
import importlib.util
import itertools
import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import nuclio_sdk
import nuclio_sdk.test

NUCLIO_DIR = Path(__file__).resolve().parents[2] / "serverless" / "cvat" / "nuclio"

_loads = itertools.count()


def load_main():
    """``serverless/cvat/nuclio/main.py`` as a fresh module (Nuclio imports it as ``main``)."""
    name = f"focalxl_cvat_nuclio_main_{next(_loads)}"
    spec = importlib.util.spec_from_file_location(name, NUCLIO_DIR / "main.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


class NuclioFunction:
    def __init__(self):
        self.main = load_main()
        self.platform = nuclio_sdk.test.Platform()

    def call(self, body, content_type: str = "application/json") -> nuclio_sdk.Response:
        return self.platform.call_handler(self.main.handler, nuclio_sdk.Event(body=body, content_type=content_type))

    @property
    def interactor(self):
        return self.platform._get_handler_context(self.main.handler).user_data.interactor


class HttpTrigger:
    """A local HTTP server delivering POST bodies to ``handler`` as Nuclio's runtime does."""

    def __init__(self, main):
        self.main = main
        self.context = nuclio_sdk.Context(nuclio_sdk.test.Platform().context.logger, None)
        main.init_context(self.context)
        self._ids = iter(range(1, 1 << 62))
        self._ids_lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._request_class())
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> "HttpTrigger":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()

    def event(self, body: bytes, headers: dict, method: str, path: str) -> nuclio_sdk.Event:
        with self._ids_lock:
            event_id = next(self._ids)
        message = {"body": body, "content_type": headers.get("Content-Type", ""),
                   "trigger": {"kind": "http", "name": "myHttpTrigger"}, "fields": {}, "headers": headers,
                   "id": str(event_id), "method": method, "path": path, "size": len(body),
                   "timestamp": int(time.time()), "url": self.url + path.lstrip("/"), "shard_id": 0,
                   "num_shards": 0, "type": "", "type_version": "", "version": ""}
        return nuclio_sdk.Event.deserialize(message, kind=nuclio_sdk.EventDeserializerKinds.msgpack)

    def _request_class(self):
        trigger = self

        class Request(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                event = trigger.event(body, dict(self.headers), "POST", self.path)
                output = nuclio_sdk.Response.from_entrypoint_output(json.dumps, trigger.main.handler(trigger.context, event))
                payload = output["body"]
                data = base64.b64decode(payload) if output["body_encoding"] == "base64" else payload.encode()
                self.send_response(output["status_code"])
                self.send_header("Content-Type", output["content_type"])
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args) -> None:
                pass

        return Request


_SERVE = """
import sys
sys.path.insert(0, {tests!r})
from nuclio_runtime import HttpTrigger, load_main
with HttpTrigger(load_main()) as trigger:
    print(trigger.url, flush=True)
    sys.stdin.read()
"""


class HttpTriggerProcess:
    """``HttpTrigger`` in a Python process of its own (a replica), with ``env`` as its environment;
    it serves until the context exits."""

    def __init__(self, env: dict):
        self.env = env

    def __enter__(self) -> "HttpTriggerProcess":
        import os
        import subprocess

        script = _SERVE.format(tests=str(Path(__file__).resolve().parent))
        self.process = subprocess.Popen([sys.executable, "-c", script], env={**os.environ, **self.env},
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self.url = ""
        for line in self.process.stdout:            # the Nuclio logger writes to stdout too
            if line.startswith("http://"):
                self.url = line.strip()
                break
        if not self.url:
            self.__exit__()
            raise RuntimeError(f"the function process did not start (exit code {self.process.returncode})")
        threading.Thread(target=self.process.stdout.read, daemon=True).start()   # keep its log pipe from filling
        return self

    def __exit__(self, *exc) -> None:
        self.process.stdin.close()
        try:
            self.process.wait(timeout=30)
        except Exception:
            self.process.kill()
            self.process.wait()
