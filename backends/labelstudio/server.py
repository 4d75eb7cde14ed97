"""The Label Studio ML backend wire protocol over HTTP (Flask).

``GET /health``, ``POST /setup``, ``POST /predict``, ``POST /webhook``, ``GET /metrics``
and ``GET /versions`` as Label Studio 1.23 calls them. Bad input answers 4xx JSON
``{"status", "detail"}`` naming the problem; the process keeps serving.
"""
from __future__ import annotations

import base64
import hmac
import logging
import os
import threading
import time
from typing import Any, Optional, Tuple

from flask import Flask, jsonify, request
from focalxl.hosts.labelstudio.media import FetchBusy, ImageRefused, ImageTooLarge, ImageUnavailable
from focalxl.store import SessionTooLarge
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from .limits import LimitExceeded
from .model import Backend

logger = logging.getLogger(__name__)

TRAIN_EVENTS = {"ANNOTATION_CREATED", "ANNOTATION_UPDATED", "ANNOTATION_DELETED", "START_TRAINING"}


STATUS = ((ImageTooLarge, 413), (SessionTooLarge, 413), (ImageRefused, 403), (FetchBusy, 429),
          (ImageUnavailable, 422))


class Metrics:
    """Request counts and time spent, per route template (a bounded set: unknown paths count as one)."""

    def __init__(self):
        self._lock = threading.Lock()
        self._counts: dict = {}

    def record(self, endpoint: str, status: int, seconds: float) -> None:
        with self._lock:
            entry = self._counts.setdefault(endpoint, {"requests": 0, "errors": 0, "seconds": 0.0})
            entry["requests"] += 1
            entry["errors"] += status >= 400
            entry["seconds"] += seconds

    def snapshot(self) -> dict:
        with self._lock:
            return {k: dict(v) for k, v in self._counts.items()}


def create_app(backend: Backend, basic_auth: Optional[Tuple[str, str]] = None) -> Flask:
    """The Flask app; ``basic_auth`` defaults to ``BASIC_AUTH_USER``/``BASIC_AUTH_PASS`` (empty: none).

    Every route, ``/metrics`` included, is behind the same auth; bodies are read under
    ``backend.limits`` (size, JSON depth).
    """
    if basic_auth is None:
        basic_auth = (os.environ.get("BASIC_AUTH_USER", ""), os.environ.get("BASIC_AUTH_PASS", ""))
    if not all(basic_auth):
        basic_auth = None
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = backend.limits.max_body_bytes
    metrics = Metrics()

    def _body() -> dict:
        body: Any = backend.limits.read_json(request.get_data(cache=False))
        if not isinstance(body, dict):
            raise ValueError("the request body must be a JSON object")
        return body

    @app.before_request
    def check_auth():
        request.environ["focalxl.start"] = time.perf_counter()
        if basic_auth and not _authorised(request.headers.get("Authorization", ""), basic_auth):
            response = jsonify(status=401, detail="HTTP Basic authentication required")
            response.status_code = 401
            response.headers["WWW-Authenticate"] = 'Basic realm="focalxl"'
            return response
        return None

    @app.after_request
    def record(response):
        seconds = time.perf_counter() - request.environ.get("focalxl.start", time.perf_counter())
        route = request.url_rule.rule if request.url_rule is not None else "<other>"
        metrics.record(route, response.status_code, seconds)
        logger.info("%s %s -> %d in %.3f s", request.method, route, response.status_code, seconds)
        return response

    @app.errorhandler(ValueError)
    def bad_input(error: ValueError):
        status = _status(error)
        detail = f"{error} (FOCALXL_SESSION_MB)" if isinstance(error, SessionTooLarge) else str(error)
        logger.warning("%s %s: %d %s", request.method, request.path, status, detail)
        response = jsonify(status=status, detail=detail)
        if status == 429:
            response.headers["Retry-After"] = "2"
        return response, status

    @app.errorhandler(RequestEntityTooLarge)
    def too_large(error: RequestEntityTooLarge):
        return jsonify(status=413, detail=backend.limits.body_message(request.content_length)), 413

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        return jsonify(status=error.code, detail=error.description), error.code

    @app.errorhandler(Exception)
    def failure(error: Exception):
        logger.exception("%s %s failed", request.method, request.path)
        return jsonify(status=500, detail=f"{type(error).__name__}: {error}"), 500

    @app.get("/")
    @app.get("/health")
    def health():
        return jsonify(status="UP", model_class="focalxl", model_version=backend.model_version)

    @app.post("/setup")
    def setup():
        body = _body()
        backend.media.announce(_project_id(body.get("project")), body.get("hostname"), body.get("access_token"))
        return jsonify(model_version=backend.model_version)

    @app.post("/predict")
    def predict():
        body = _body()
        params = body.get("params") or {}
        if not isinstance(params, dict):
            raise ValueError("params must be an object")
        results = backend.predict(body.get("tasks"), body.get("label_config"), params.get("context"),
                                  _project_id(body.get("project")))
        return jsonify(results=results, model_version=backend.model_version)

    @app.post("/webhook")
    def webhook():
        action = _body().get("action")
        if not isinstance(action, str):
            raise ValueError(f"action must be an event name (a string), got {type(action).__name__}")
        if action not in TRAIN_EVENTS:
            return jsonify(status="Unknown event", action=action)
        return jsonify(status="ok", detail="focalxl refines interactively and does not train on annotations")

    @app.get("/versions")
    def versions():
        return jsonify(versions=[backend.model_version], model_version=backend.model_version)

    @app.get("/metrics")
    def metrics_view():
        return jsonify(requests=metrics.snapshot(), sessions=len(backend.store), session_bytes=backend.store.nbytes)

    return app


def _status(error: ValueError) -> int:
    """The HTTP status of a refused request: 4xx by the error's kind (400 when nothing more specific)."""
    if isinstance(error, LimitExceeded):
        return error.status
    for kind, status in STATUS:
        if isinstance(error, kind):
            return status
    return 400


def _project_id(project: Any) -> str:
    """Label Studio sends ``"<id>.<created timestamp>"``; the id is what identifies it."""
    return str(project).split(".")[0] if project is not None else ""


def _authorised(header: str, expected: Tuple[str, str]) -> bool:
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic":
        return False
    try:
        user, _, password = base64.b64decode(encoded.strip(), validate=True).partition(b":")
    except ValueError:   # not base64, or not ASCII at all
        return False
    return hmac.compare_digest(user, expected[0].encode()) & hmac.compare_digest(password, expected[1].encode())
