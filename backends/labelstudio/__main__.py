"""``python -m focalxl.labelstudio``: serve the ML backend with gunicorn (port 9090 by default)."""
from __future__ import annotations

import argparse
import os

from gunicorn.app.base import BaseApplication

from .app import build_app, configure_logging


class _Gunicorn(BaseApplication):
    def __init__(self, options: dict):
        self.options = options
        super().__init__()

    def load_config(self):
        for key, value in self.options.items():
            if key in self.cfg.settings:   # control_socket_disable exists only in recent gunicorn
                self.cfg.set(key, value)

    def load(self):
        return build_app(self.options["threads"])


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="python -m focalxl.labelstudio", description=__doc__)
    parser.add_argument("--host", default=os.environ.get("HOST", "0.0.0.0"))
    parser.add_argument("-p", "--port", type=int, default=int(os.environ.get("PORT", "9090")))
    parser.add_argument("--threads", type=int, default=int(os.environ.get("THREADS", "8")),
                        help="request threads; sessions live in this one process")
    parser.add_argument("--timeout", type=int, default=int(os.environ.get("WORKER_TIMEOUT", "120")),
                        help="seconds before gunicorn restarts a worker that stopped answering its arbiter")
    parser.add_argument("--log-level", default=os.environ.get("LOG_LEVEL", "INFO"))
    args = parser.parse_args(argv)
    if args.threads < 3:
        parser.error("--threads must be at least 3: downloads may use all but two")
    configure_logging(args.log_level)
    _Gunicorn({"bind": f"{args.host}:{args.port}", "workers": 1, "threads": args.threads, "timeout": args.timeout,
               "graceful_timeout": 30, "limit_request_line": 8190, "limit_request_fields": 100,
               "worker_class": "gthread", "loglevel": args.log_level.lower(), "preload_app": True,
               "control_socket_disable": True}).run()


if __name__ == "__main__":
    main()
