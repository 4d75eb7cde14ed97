"""A stand-in for the few CVAT REST calls cvat-sdk makes in a batch job (CVAT itself cannot run here).

The answers follow CVAT 2.x's API schema (cvat-sdk's models parse and check every one):
``/api/server/about``, ``/api/auth/login`` (session and CSRF cookies) or a bearer
token, ``/api/tasks/ID``, ``/api/labels?task_id=ID``, ``/api/tasks/ID/data/meta``,
``/api/tasks/ID/annotations/`` (GET, and PATCH ``action=create``) and
``/api/tasks/ID/data/?type=frame&quality=original&number=N``, paths as in cvat-sdk's schema. Every request is logged.
"""
from __future__ import annotations

import http.server
import json
import threading
from dataclasses import dataclass, field
from typing import Dict, List
from urllib.parse import parse_qs, urlsplit

import cv2
import numpy as np

TOKEN = "cvat-pat-0123456789"
USER, PASSWORD = "annotator", "secret-password"
SESSION = "fake-session-id"
CSRF = "fake-csrf-token"
DATE = "2026-01-01T00:00:00.000000Z"


@dataclass
class FakeTask:
    id: int
    name: str
    frames: List[np.ndarray] = field(repr=False)
    labels: Dict[int, str]
    shapes: List[dict]
    next_id: int = 1000


class FakeCvat:
    """A threaded HTTP server holding one task; ``requests`` lists ``(method, path)`` of every call."""

    def __init__(self, task: FakeTask, version: str = "2.80.0"):
        self.task, self.version = task, version
        self.requests: List[tuple] = []
        self.refuse_uploads = False        # answer PATCH with 500, as a CVAT whose database is down
        self.lock = threading.Lock()
        fake = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                fake.handle(self, "GET")

            def do_POST(self):
                fake.handle(self, "POST")

            def do_PATCH(self):
                fake.handle(self, "PATCH")

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.httpd.shutdown()

    def handle(self, request: http.server.BaseHTTPRequestHandler, method: str) -> None:
        parts = urlsplit(request.path)
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        body = request.rfile.read(int(request.headers.get("Content-Length") or 0))
        with self.lock:
            self.requests.append((method, parts.path, query))
        task = self.task
        if parts.path == "/api/server/about":
            return self.json(request, {"name": "Computer Vision Annotation Tool", "description": "CVAT",
                                       "version": self.version, "logo_url": "/api/server/logo", "subtitle": ""})
        if parts.path == "/api/auth/login" and method == "POST":
            credentials = json.loads(body or b"{}")
            if (credentials.get("username"), credentials.get("password")) != (USER, PASSWORD):
                return self.json(request, {"non_field_errors": ["Unable to log in."]}, 400)
            return self.json(request, {"key": "legacy-token-key"}, 200, cookies={"sessionid": SESSION, "csrftoken": CSRF})
        if not self.signed_in(request, method):
            return self.json(request, {"detail": "Authentication credentials were not provided."}, 401)
        if parts.path == f"/api/tasks/{task.id}" and method == "GET":
            return self.json(request, self.task_json())
        if parts.path == "/api/labels" and query.get("task_id") == str(task.id):
            results = [{"id": i, "name": n, "color": "#ff0000", "attributes": [], "type": "any", "sublabels": [],
                        "has_parent": False, "task_id": task.id, "parent_id": None, "svg": ""}
                       for i, n in task.labels.items()]
            return self.json(request, {"count": len(results), "next": None, "previous": None, "results": results})
        if parts.path == f"/api/tasks/{task.id}/data/meta":
            frames = [{"width": f.shape[1], "height": f.shape[0], "name": f"frame_{i:06d}.png", "related_files": 0,
                       "has_related_context": False} for i, f in enumerate(task.frames)]
            return self.json(request, {"chunk_size": 36, "size": len(frames), "image_quality": 70, "start_frame": 0,
                                       "stop_frame": len(frames) - 1, "frame_filter": "", "frames": frames,
                                       "deleted_frames": [], "included_frames": None,
                                       "chunks_updated_date": DATE, "storage": "local", "storage_method": "cache",
                                       "cloud_storage_id": None})
        if parts.path == f"/api/tasks/{task.id}/annotations/" and method == "GET":
            return self.json(request, {"version": 0, "tags": [], "shapes": task.shapes, "tracks": []})
        if parts.path == f"/api/tasks/{task.id}/annotations/" and method == "PATCH" and query.get("action") == "create":
            if self.refuse_uploads:
                return self.json(request, {"detail": "Internal server error"}, 500)
            created = []
            with self.lock:
                for shape in json.loads(body)["shapes"]:
                    shape = dict(shape, id=task.next_id, group=shape.get("group") or 0, outside=False,
                                 rotation=shape.get("rotation", 0.0), elements=[])
                    task.next_id += 1
                    task.shapes.append(shape)
                    created.append(shape)
            return self.json(request, {"version": 0, "tags": [], "shapes": created, "tracks": []})
        if parts.path == f"/api/tasks/{task.id}/data/" and query.get("type") == "frame":
            number = int(query.get("number", -1))
            if not 0 <= number < len(task.frames):
                return self.json(request, {"detail": "frame out of range"}, 400)
            ok, png = cv2.imencode(".png", cv2.cvtColor(task.frames[number], cv2.COLOR_RGB2BGR))
            return self.raw(request, png.tobytes(), "image/png")
        return self.json(request, {"detail": "Not found."}, 404)

    def signed_in(self, request, method: str) -> bool:
        if request.headers.get("Authorization") == f"Bearer {TOKEN}":
            return True
        cookie = request.headers.get("Cookie") or ""
        if f"sessionid={SESSION}" not in cookie:
            return False
        return method == "GET" or request.headers.get("X-CSRFToken") == CSRF

    def task_json(self) -> dict:
        task = self.task
        return {"url": f"{self.url}/api/tasks/{task.id}", "id": task.id, "name": task.name, "project_id": None,
                "mode": "annotation", "owner": {"url": "", "id": 1, "username": USER, "first_name": "",
                                                "last_name": ""},
                "assignee": None, "bug_tracker": "", "created_date": DATE, "updated_date": DATE, "overlap": 0,
                "segment_size": len(task.frames), "status": "annotation", "data_chunk_size": 36,
                "data_compressed_chunk_type": "imageset", "guide_id": None, "data_original_chunk_type": "imageset",
                "size": len(task.frames), "image_quality": 70, "data": 1, "dimension": "2d", "subset": "",
                "organization": None, "target_storage": None, "source_storage": None,
                "jobs": {"count": 1, "completed": 0, "validation": 0, "url": f"{self.url}/api/jobs?task_id={task.id}"},
                "labels": {"url": f"{self.url}/api/labels?task_id={task.id}"}, "assignee_updated_date": None,
                "validation_mode": None, "consensus_enabled": False}

    @staticmethod
    def json(request, payload, status: int = 200, cookies: Dict[str, str] = None) -> None:
        data = json.dumps(payload).encode()
        request.send_response(status)
        request.send_header("Content-Type", "application/json")
        request.send_header("Content-Length", str(len(data)))
        for name, value in (cookies or {}).items():
            request.send_header("Set-Cookie", f"{name}={value}; Path=/")
        request.end_headers()
        request.wfile.write(data)

    @staticmethod
    def raw(request, data: bytes, content_type: str) -> None:
        request.send_response(200)
        request.send_header("Content-Type", content_type)
        request.send_header("Content-Length", str(len(data)))
        request.end_headers()
        request.wfile.write(data)


def rectangle(shape_id: int, frame: int, label_id: int, box) -> dict:
    """A rectangle shape as CVAT's annotations API returns it."""
    return {"type": "rectangle", "occluded": False, "outside": False, "z_order": 0, "rotation": 0.0,
            "points": [float(v) for v in box], "id": shape_id, "frame": frame, "label_id": label_id, "group": 0,
            "source": "manual", "attributes": [], "elements": []}
