"""The configured app: preset, limits and credentials from the environment.

``FOCALXL_PRESET`` (default ``classical``), ``FOCALXL_CHECKPOINT``, ``FOCALXL_MAX_PIXELS``,
``FOCALXL_SESSION_BYTES``, ``FOCALXL_MAX_IMAGE_BYTES``; ``LABEL_STUDIO_URL``/``LABEL_STUDIO_API_KEY`` for media;
``BASIC_AUTH_USER``/``BASIC_AUTH_PASS`` to protect the backend. Gunicorn: ``'focalxl.labelstudio.app:build_app()'``.
"""
from __future__ import annotations

import logging
import os

import focalxl
from flask import Flask

from .media import Media
from .model import Backend
from .server import create_app


def build_app() -> Flask:
    """Load the preset once for the process and wrap it in the HTTP app."""
    preset = os.environ.get("FOCALXL_PRESET", "classical")
    options = {}
    if os.environ.get("FOCALXL_MAX_PIXELS"):
        options["max_pixels"] = int(os.environ["FOCALXL_MAX_PIXELS"])
    segmenter = focalxl.load(preset, os.environ.get("FOCALXL_CHECKPOINT") or None, **options)
    store = focalxl.SessionStore(int(os.environ.get("FOCALXL_SESSION_BYTES", str(2 * 1024 ** 3))))
    version = f"focalxl-{preset}-{_package_version()}"
    return create_app(Backend(segmenter, Media.from_environment(), version, store))


def configure_logging(level: str = "INFO") -> None:
    """Log ``level`` and above; the SDK and urllib3 only warnings (their debug lines carry presigned URLs)."""
    logging.basicConfig(level=level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for name in ("label_studio_sdk", "urllib3", "httpx", "httpcore"):
        logging.getLogger(name).setLevel(max(logging.WARNING, logging.getLogger().level))


def _package_version() -> str:
    from importlib.metadata import PackageNotFoundError, version
    try:
        return version("focalxl")
    except PackageNotFoundError:
        return "0"

