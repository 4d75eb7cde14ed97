"""The configured app: preset, limits and credentials from the environment.

``FOCALXL_PRESET`` (default ``classical``), ``FOCALXL_CHECKPOINT``, ``FOCALXL_MAX_PIXELS``,
``FOCALXL_SESSION_MB``; the fetch settings of ``focalxl.fetch`` (``FOCALXL_FETCH_*``,
``FOCALXL_MAX_IMAGE_BYTES``); the request limits of ``limits`` (``FOCALXL_MAX_*``);
``LABEL_STUDIO_URL``/``LABEL_STUDIO_API_KEY`` for media; ``BASIC_AUTH_USER``/``BASIC_AUTH_PASS``
to protect the backend. Gunicorn: ``'focalxl.labelstudio.app:build_app()'``.
"""
from __future__ import annotations

import logging
import os
from typing import Optional

import focalxl
from flask import Flask
from focalxl.hosts.labelstudio.media import Media

from .limits import Limits
from .model import Backend
from .server import create_app


def build_app(threads: Optional[int] = None) -> Flask:
    """Load the preset once for the process and wrap it in the HTTP app.

    Downloads may hold at most ``threads - 2`` request threads (``THREADS``, default 8),
    so two are always left for ``/health`` and for clicks on images already fetched.
    """
    threads = threads or int(os.environ.get("THREADS", "8"))
    preset = os.environ.get("FOCALXL_PRESET", "classical")
    options = {}
    if os.environ.get("FOCALXL_MAX_PIXELS"):
        options["max_pixels"] = int(os.environ["FOCALXL_MAX_PIXELS"])
    segmenter = focalxl.load(preset, os.environ.get("FOCALXL_CHECKPOINT") or None, **options)
    store = focalxl.SessionStore(int(os.environ.get("FOCALXL_SESSION_MB", "2048")) * 1024 ** 2)
    version = f"focalxl-{preset}-{_package_version()}"
    media = Media.from_environment(fetch_slots=max(1, threads - 2))
    return create_app(Backend(segmenter, media, version, store, Limits.from_environment()))


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

