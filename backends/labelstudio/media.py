"""Task images from Label Studio: uploads, Local Storage, cloud storage, plain URLs.

Resolution and caching are the SDK's ``get_local_path``; this module adds the
credentials (``LABEL_STUDIO_URL`` + ``LABEL_STUDIO_API_KEY``, or what ``/setup`` told
us), exchanges a personal access token for a short-lived access token, bounds the
file size and turns every failure into ``ImageUnavailable`` with a secret-free message.
"""
from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass
from typing import Dict, Optional
from urllib.parse import parse_qs, urlencode, urlparse, urlunparse

import jwt
from label_studio_sdk import LabelStudio
from label_studio_sdk._extensions.label_studio_tools.core.utils.io import get_local_path

DEFAULT_MAX_BYTES = 256 * 1024 ** 2


class ImageUnavailable(ValueError):
    """The task's image cannot be fetched or read."""


class ImageTooLarge(ValueError):
    """The task's image is over the configured size limit."""


@dataclass(frozen=True)
class Server:
    """Where Label Studio is and the key the backend uses there."""

    url: str
    api_key: str


class Media:
    """Fetches task images with the configured or announced Label Studio credentials."""

    def __init__(self, server: Optional[Server] = None, max_bytes: int = DEFAULT_MAX_BYTES):
        self.server = server
        self.max_bytes = max_bytes
        self._announced: Dict[str, Server] = {}
        self._access: Dict[str, tuple] = {}
        self._lock = threading.Lock()

    @classmethod
    def from_environment(cls) -> "Media":
        """``LABEL_STUDIO_URL`` (or ``LABEL_STUDIO_HOST``) and ``LABEL_STUDIO_API_KEY`` (or ``..._ACCESS_TOKEN``)."""
        url = os.environ.get("LABEL_STUDIO_URL") or os.environ.get("LABEL_STUDIO_HOST")
        key = os.environ.get("LABEL_STUDIO_API_KEY") or os.environ.get("LABEL_STUDIO_ACCESS_TOKEN")
        if url and not url.startswith(("http://", "https://")):
            raise ValueError(f"LABEL_STUDIO_URL must start with http:// or https://, got {url!r}")
        max_bytes = int(os.environ.get("FOCALXL_MAX_IMAGE_BYTES", str(DEFAULT_MAX_BYTES)))
        return cls(Server(url, key or "") if url else None, max_bytes)

    def announce(self, project: str, hostname: object, access_token: object) -> None:
        """Remember the server and key Label Studio sent with ``/setup`` for ``project``."""
        if isinstance(hostname, str) and hostname.startswith(("http://", "https://")) and isinstance(access_token, str):
            with self._lock:
                self._announced[project] = Server(hostname, access_token)

    def fetch(self, url: object, task_id: object, project: str, field: str) -> bytes:
        """The bytes of the image at ``url`` (the task's data field ``field``)."""
        if not isinstance(url, str) or not url:
            raise ImageUnavailable(f"{field} must be an image URL or path, got {type(url).__name__}")
        server = self.server or self._announced.get(project)
        try:
            path = get_local_path(url, hostname=server.url if server else None,
                                  access_token=self._token(server) if server else None,
                                  task_id=task_id if isinstance(task_id, int) else None)
            size = os.path.getsize(path)
            if size > self.max_bytes:
                raise ImageTooLarge(f"{field}: the image file has {size} bytes, over the limit of {self.max_bytes}")
            with open(path, "rb") as file:
                return file.read()
        except ImageTooLarge:
            raise
        except Exception as error:  # network, HTTP, storage and path errors all mean the same here
            raise ImageUnavailable(f"{field}: cannot fetch {redact(url)}: {type(error).__name__}: "
                                   f"{_first_line(error, url)}") from None

    def _token(self, server: Server) -> str:
        """The API key, or an access token for a personal access token (a JWT refresh token)."""
        try:
            claims = jwt.decode(server.api_key, options={"verify_signature": False})
        except jwt.PyJWTError:
            return server.api_key
        if claims.get("token_type") != "refresh":
            return server.api_key
        with self._lock:
            token, expires = self._access.get(server.api_key, ("", 0.0))
        if time.time() < expires - 30:
            return token
        access = LabelStudio(base_url=server.url, api_key=server.api_key).tokens.refresh(refresh=server.api_key).access
        expires = jwt.decode(access, options={"verify_signature": False}).get("exp", time.time() + 60)
        with self._lock:
            self._access[server.api_key] = (access, float(expires))
        return access


def redact(url: str) -> str:
    """``url`` without query values other than Local Storage's ``d`` (presigned URLs carry signatures)."""
    parts = urlparse(url)
    if not parts.query:
        return url
    query = {k: (v if k == "d" else ["***"]) for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
    return urlunparse(parts._replace(query=urlencode(query, doseq=True, safe="*/")))


def _first_line(error: Exception, url: str) -> str:
    text = str(error).splitlines()[0] if str(error) else ""
    return text.replace(url, redact(url))[:300]
