"""SessionStore: sessions kept across requests, keyed by image digest and object key.

Hosts like CVAT send the whole image with every click and no previous mask, so the
door finds the session again by a digest of the image bytes. The store is bounded in
bytes (least recently used sessions go first) and safe to share between threads.
"""
from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from typing import Callable, Hashable, Optional, Tuple, Union

import numpy as np

from .session import Session

Key = Tuple[str, Hashable]


def image_digest(data: Union[bytes, bytearray, memoryview, np.ndarray]) -> str:
    """A SHA-256 digest of encoded image bytes or of a decoded array (shape included)."""
    h = hashlib.sha256()
    if isinstance(data, np.ndarray):
        h.update(f"{data.dtype.str}{data.shape}".encode())
        h.update(np.ascontiguousarray(data).data)
    elif isinstance(data, (bytes, bytearray, memoryview)):
        h.update(data)
    else:
        raise ValueError(f"image must be bytes or a numpy array, got {type(data).__name__}")
    return h.hexdigest()


class SessionStore:
    """An LRU map ``(image digest, object key) -> Session`` holding at most ``max_bytes``."""

    def __init__(self, max_bytes: int = 2 * 1024 ** 3):
        if max_bytes <= 0:
            raise ValueError(f"max_bytes must be positive, got {max_bytes}")
        self.max_bytes = max_bytes
        self._sessions: "OrderedDict[Key, Session]" = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        with self._lock:
            return len(self._sessions)

    @property
    def nbytes(self) -> int:
        with self._lock:
            return sum(s.nbytes for s in self._sessions.values())

    def get(self, digest: str, key: Hashable = None) -> Optional[Session]:
        with self._lock:
            session = self._sessions.get((digest, key))
            if session is not None:
                self._sessions.move_to_end((digest, key))
                self._evict()
            return session

    def put(self, digest: str, key: Hashable, session: Session) -> None:
        """Keep ``session``, then evict the least recently used ones beyond the bound."""
        with self._lock:
            self._sessions[(digest, key)] = session
            self._sessions.move_to_end((digest, key))
            self._evict()

    def get_or_create(self, digest: str, key: Hashable, create: Callable[[], Session]) -> Session:
        """The stored session, or a new one from ``create()`` (built outside the lock)."""
        session = self.get(digest, key)
        if session is not None:
            return session
        session = create()
        with self._lock:
            stored = self._sessions.setdefault((digest, key), session)
            self._sessions.move_to_end((digest, key))
            self._evict()
        return stored

    def discard(self, digest: str, key: Hashable = None) -> None:
        with self._lock:
            self._sessions.pop((digest, key), None)

    def _evict(self) -> None:
        """Drop least recently used sessions until within bounds (sessions grow as they are used)."""
        total = sum(s.nbytes for s in self._sessions.values())
        while total > self.max_bytes and len(self._sessions) > 1:
            _, oldest = self._sessions.popitem(last=False)
            total -= oldest.nbytes
