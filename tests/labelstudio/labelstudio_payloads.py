"""Label Studio payloads and a throwaway image host, shared by the door's tests."""
from __future__ import annotations

import functools
import http.server
import threading
import uuid
from pathlib import Path

import cv2
import numpy as np

LABEL_CONFIG = """<View>
  <Image name="image" value="$image" zoom="true"/>
  <BrushLabels name="tag" toName="image"><Label value="Foreground"/><Label value="Background"/></BrushLabels>
  <KeyPointLabels name="tag2" toName="image" smart="true"><Label value="Foreground" smart="true"/></KeyPointLabels>
  <RectangleLabels name="tag3" toName="image" smart="true"><Label value="Foreground"/></RectangleLabels>
</View>"""


class ImageServer:
    """A plain HTTP server over a temporary folder; every file gets a fresh name (the SDK caches by URL)."""

    def __init__(self, root: Path):
        self.root = root
        handler = functools.partial(_QuietHandler, directory=str(root))
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.port = self.httpd.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def put(self, data: bytes, suffix: str = ".png") -> str:
        name = f"{uuid.uuid4().hex}{suffix}"
        (self.root / name).write_bytes(data)
        return f"{self.url}/{name}"

    def put_image(self, rgb: np.ndarray, suffix: str = ".png") -> str:
        ok, encoded = cv2.imencode(suffix, cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
        assert ok
        return self.put(encoded.tobytes(), suffix)


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def keypoint(x: float, y: float, width: int, height: int, positive: bool = True, rotation: int = 0) -> dict:
    """A smart keypoint result item at pixel ``(x, y)`` as Label Studio sends it."""
    return {"id": uuid.uuid4().hex[:10], "from_name": "tag2", "to_name": "image", "type": "keypointlabels",
            "origin": "manual", "original_width": width, "original_height": height, "image_rotation": rotation,
            "value": {"x": 100 * x / width, "y": 100 * y / height, "width": 0.5, "labels": ["Foreground"],
                      "keypointlabels": ["Foreground"]}, "is_positive": positive}


def rectangle(x0: float, y0: float, x1: float, y1: float, width: int, height: int, name: str = "tag3") -> dict:
    return {"id": uuid.uuid4().hex[:10], "from_name": name, "to_name": "image", "type": "rectanglelabels",
            "original_width": width, "original_height": height, "image_rotation": 0,
            "value": {"x": 100 * x0 / width, "y": 100 * y0 / height, "width": 100 * (x1 - x0) / width,
                      "height": 100 * (y1 - y0) / height, "rotation": 0, "rectanglelabels": ["Foreground"]}}


def predict_body(task: dict, context=None) -> dict:
    return {"tasks": [task], "project": "7.1700000000", "label_config": LABEL_CONFIG,
            "params": {"login": None, "password": None, "context": context}}
