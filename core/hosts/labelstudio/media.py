"""Task images from Label Studio: uploads, Local Storage, cloud storage, plain URLs.

Label Studio's URL forms are resolved as the SDK's ``get_local_path`` resolves them, but
every download goes through ``focalxl.fetch`` (public addresses only, timeouts, a
deadline, a streamed size cap) and is kept only in a small in-memory cache, and only
once complete: the SDK's own download path buffers whole answers without a timeout and
leaves them in its disk cache for good.

- ``upload/...``, ``/data/upload/...``: ``<LS>/storage-data/uploaded/?filepath=upload/...``,
  then ``<LS>/data/upload/...`` (as the SDK);
- ``/data/local-files/?d=...``: read from ``LOCAL_FILES_DOCUMENT_ROOT`` when set and the
  file is there (the SDK's path check), else from ``<LS>``;
- ``s3://``, ``gs://``, ``azure-blob://``: ``<LS>/tasks/<id>/presign/?fileuri=...``, whose
  redirect to the bucket is checked like any other hop;
- ``http(s)://``: fetched as is. Other schemes (``file:``, ...) are refused.

``<LS>`` is ``LABEL_STUDIO_URL`` (trusted by the fetch policy) or the host Label Studio
announced with ``/setup`` (not trusted: it must be public or listed in
``FOCALXL_FETCH_ALLOW``). The key goes only to ``<LS>``'s own origin.
"""
from __future__ import annotations

import os
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Dict, List, Optional, Tuple
from urllib.parse import urlsplit

import jwt
from label_studio_sdk import LabelStudio
from label_studio_sdk._extensions.label_studio_tools.core.utils.io import (encode_presign_fileuri,
                                                                          is_cloud_storage_uri,
                                                                          resolve_local_storage_file)

from ...fetch import FetchFailed, FetchPolicy, FetchRefused, FetchTooLarge, redact_url

DEFAULT_CACHE_BYTES = 64 * 1024 ** 2
ANNOUNCED_PROJECTS = 1000   # /setup announcements kept (the least recently announced go first)
SLOT_WAIT_S = 0.0   # a download never waits for a slot while holding a request thread


class ImageUnavailable(ValueError):
    """The task's image cannot be fetched or read (422)."""


class ImageRefused(ValueError):
    """The fetch policy forbids the task's image URL (403)."""


class ImageTooLarge(ValueError):
    """The task's image is over a size limit (413)."""


class FetchBusy(ValueError):
    """Every fetch slot is taken by a download in progress (429)."""


@dataclass(frozen=True)
class Server:
    """Where Label Studio is and the key the backend uses there."""

    url: str
    api_key: str


class Media:
    """Fetches task images under one ``FetchPolicy`` with the configured or announced credentials."""

    def __init__(self, server: Optional[Server] = None, policy: Optional[FetchPolicy] = None,
                 cache_bytes: int = DEFAULT_CACHE_BYTES, fetch_slots: Optional[int] = None):
        """``fetch_slots``: how many downloads may run at once (the server sets ``THREADS - 2``; None: any)."""
        self.server = server
        self.policy = policy or FetchPolicy()
        if server is not None:
            self.policy = self.policy.trusting(server.url)
        self.cache_bytes = cache_bytes
        self._cache: "OrderedDict[Tuple[str, str], bytes]" = OrderedDict()
        self._slots = threading.BoundedSemaphore(fetch_slots) if fetch_slots else None
        self.fetch_slots = fetch_slots
        self._announced: "OrderedDict[str, Server]" = OrderedDict()
        self._access: Dict[str, tuple] = {}
        self._lock = threading.Lock()

    @property
    def max_bytes(self) -> int:
        return self.policy.max_bytes

    @classmethod
    def from_environment(cls, fetch_slots: Optional[int] = None) -> "Media":
        """``LABEL_STUDIO_URL`` (or ``..._HOST``), ``LABEL_STUDIO_API_KEY`` (or ``..._ACCESS_TOKEN``), fetch settings."""
        url = os.environ.get("LABEL_STUDIO_URL") or os.environ.get("LABEL_STUDIO_HOST")
        key = os.environ.get("LABEL_STUDIO_API_KEY") or os.environ.get("LABEL_STUDIO_ACCESS_TOKEN")
        if url and not url.lower().startswith(("http://", "https://")):
            raise ValueError(f"LABEL_STUDIO_URL must start with http:// or https://, got {redact_url(url)!r}")
        cache_mb = os.environ.get("FOCALXL_MEDIA_CACHE_MB", "")
        cache = int(cache_mb) * 1024 ** 2 if cache_mb.strip() else DEFAULT_CACHE_BYTES
        return cls(Server(url, key or "") if url else None, FetchPolicy.from_env(), cache, fetch_slots)

    def announce(self, project: str, hostname: object, access_token: object) -> None:
        """Remember the server and key Label Studio sent with ``/setup`` for ``project``."""
        if (isinstance(hostname, str) and hostname.lower().startswith(("http://", "https://"))
                and isinstance(access_token, str)):
            with self._lock:
                self._announced[project] = Server(hostname, access_token)
                self._announced.move_to_end(project)
                while len(self._announced) > ANNOUNCED_PROJECTS:
                    self._announced.popitem(last=False)

    def fetch(self, url: object, task_id: object, project: str, field: str) -> bytes:
        """The bytes of the image at ``url`` (the task's data field ``field``)."""
        if not isinstance(url, str) or not url.strip():
            raise ImageUnavailable(f"{field} must be an image URL or path, got {type(url).__name__}")
        server = self.server or self._announced.get(project)
        local = _local_file(url)
        if local is not None:
            return self._read_local(local, field)
        key = (server.url if server else "", url)
        with self._lock:
            cached = self._cache.get(key)
            if cached is not None:
                self._cache.move_to_end(key)
                return cached
        if self._slots is not None and not self._slots.acquire(timeout=SLOT_WAIT_S):
            raise FetchBusy(f"{field}: all {self.fetch_slots} fetch slots are busy with downloads; try again "
                            f"(slots are THREADS - 2, FOCALXL_FETCH_DEADLINE bounds each download)")
        try:
            data = self._download(url, task_id, server, field)
        finally:
            if self._slots is not None:
                self._slots.release()
        self._remember(key, data)
        return data

    def _download(self, url: str, task_id: object, server: Optional[Server], field: str) -> bytes:
        *fallbacks, last = self._candidates(url, task_id, server, field)
        try:
            for candidate in fallbacks:
                try:
                    return self.policy.fetch(candidate, headers=self._headers(candidate, server))
                except FetchFailed:
                    continue
            return self.policy.fetch(last, headers=self._headers(last, server))
        except FetchTooLarge as error:
            raise ImageTooLarge(f"{field}: {error}") from None
        except FetchRefused as error:
            raise ImageRefused(f"{field}: refused: {error}") from None
        except FetchFailed as error:
            raise ImageUnavailable(f"{field}: cannot fetch {error}") from None

    def _candidates(self, url: str, task_id: object, server: Optional[Server], field: str) -> List[str]:
        """The URLs to try for a task data value, in order (Label Studio's forms resolved against its host)."""
        if url.startswith(("upload", "/upload")):
            url = "/data" + ("" if url.startswith("/") else "/") + url
        relative = url.startswith("/") or is_cloud_storage_uri(url)
        if not relative:
            return [url]
        if server is None:
            raise ImageUnavailable(f"{field}: {redact_url(url)} is a Label Studio path; set LABEL_STUDIO_URL and "
                                   f"LABEL_STUDIO_API_KEY so the backend can fetch it")
        host = server.url.rstrip("/")
        if is_cloud_storage_uri(url):
            if isinstance(task_id, bool) or not isinstance(task_id, int):
                raise ImageUnavailable(f"{field}: a cloud storage URI needs the task's integer id")
            return [f"{host}/tasks/{task_id}/presign/?fileuri={encode_presign_fileuri(url)}"]
        if url.startswith("/data/upload/"):
            path = url[len("/data/"):]
            return [f"{host}/storage-data/uploaded/?filepath={path}", f"{host}/data/{path}"]
        return [host + url]

    def _headers(self, url: str, server: Optional[Server]) -> Dict[str, str]:
        if server is None or not server.api_key or _origin(url) != _origin(server.url):
            return {}
        token = self._token(server)
        scheme = "Bearer" if _is_jwt(token) else "Token"
        return {"Authorization": f"{scheme} {token}"}

    def _read_local(self, path: str, field: str) -> bytes:
        try:
            size = os.path.getsize(path)
            if size > self.max_bytes:
                raise ImageTooLarge(f"{field}: the Local Storage file has {size} bytes, over the limit of "
                                    f"{self.max_bytes} (FOCALXL_MAX_IMAGE_BYTES)")
            with open(path, "rb") as file:
                return file.read(self.max_bytes + 1)[:self.max_bytes]
        except OSError as error:
            raise ImageUnavailable(f"{field}: cannot read the Local Storage file: {error.strerror}") from None

    def _remember(self, key: Tuple[str, str], data: bytes) -> None:
        if len(data) > self.cache_bytes:
            return
        with self._lock:
            self._cache[key] = data
            self._cache.move_to_end(key)
            total = sum(len(v) for v in self._cache.values())
            while total > self.cache_bytes:
                _, dropped = self._cache.popitem(last=False)
                total -= len(dropped)

    def _token(self, server: Server) -> str:
        """The API key, or an access token for a personal access token (a JWT refresh token)."""
        try:
            claims = jwt.decode(server.api_key, options={"verify_signature": False})
        except jwt.PyJWTError:
            return server.api_key
        if claims.get("token_type") != "refresh" or server is not self.server:
            return server.api_key   # only the configured (trusted) LABEL_STUDIO_URL is asked for an exchange
        with self._lock:
            token, expires = self._access.get(server.api_key, ("", 0.0))
        if time.time() < expires - 30:
            return token
        try:
            client = LabelStudio(base_url=server.url, api_key=server.api_key, timeout=self.policy.deadline)
            access = client.tokens.refresh(refresh=server.api_key).access
        except Exception as error:  # the SDK raises httpx and API errors of its own
            raise ImageUnavailable(f"cannot exchange LABEL_STUDIO_API_KEY for an access token: "
                                   f"{type(error).__name__}") from None
        expires = jwt.decode(access, options={"verify_signature": False}).get("exp", time.time() + 60)
        with self._lock:
            self._access[server.api_key] = (access, float(expires))
        return access


def _local_file(url: str) -> Optional[str]:
    """The path of a Local Storage URL under ``LOCAL_FILES_DOCUMENT_ROOT`` when the file is there."""
    if not (url.startswith("/data/") and "?d=" in url):
        return None
    try:
        path = resolve_local_storage_file(url)
    except (ValueError, FileNotFoundError):
        return None
    return path if path and os.path.isfile(path) else None


def _origin(url: str) -> Tuple[str, str]:
    parts = urlsplit(url)
    return parts.scheme.lower(), parts.netloc.rpartition("@")[2].lower()


def _is_jwt(token: str) -> bool:
    try:
        jwt.get_unverified_header(token)
        return True
    except jwt.PyJWTError:
        return False
