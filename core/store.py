"""SessionStore: sessions kept across requests, keyed by image digest and object key.

Hosts like CVAT send the whole image with every click and no previous mask, so the
door finds the session again by a digest of the image bytes. The store is safe to share
between threads and ``max_bytes`` is a cap: least recently used sessions go first, a
session larger than the whole cap is refused (``SessionTooLarge``), and one that outgrew
the cap while in use is dropped at the next store call about it (``update``). Sessions
grow as they are used (undo patches, cached features) without the store seeing it, so a
caller that changed a session calls ``update`` once it is done.
"""
from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from typing import Callable, Hashable, Optional, Tuple, Union

import numpy as np

from .session import Session

Key = Tuple[str, Hashable]


class SessionTooLarge(ValueError):
    """A session that cannot be kept: it alone needs more bytes than the store's cap."""

    def __init__(self, nbytes: int, max_bytes: int):
        super().__init__(f"a session on this image needs {_mib(nbytes)} MiB, over the session store's "
                         f"cap of {_mib(max_bytes)} MiB")
        self.nbytes, self.max_bytes = nbytes, max_bytes


def _mib(nbytes: int) -> str:
    return f"{nbytes / 2 ** 20:.1f}"


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

    def find(self, digest: str) -> Optional[Session]:
        """The most recently used session on this image, whatever its object (for its decoded pixels)."""
        with self._lock:
            for (stored, _), session in reversed(self._sessions.items()):
                if stored == digest:
                    return session
            return None

    def put(self, digest: str, key: Hashable, session: Session) -> None:
        """Keep ``session``, evicting the least recently used others beyond the cap.

        ``SessionTooLarge`` when ``session`` alone is over the cap; nothing is kept under
        ``(digest, key)`` then.
        """
        with self._lock:
            self._sessions.pop((digest, key), None)
            self._admit(session.nbytes)
            self._sessions[(digest, key)] = session
            self._evict()

    def get_or_create(self, digest: str, key: Hashable, create: Callable[[], Session]) -> Session:
        """The stored session, or a new one from ``create()`` (built outside the lock).

        ``SessionTooLarge`` when the new session alone is over the cap.
        """
        session = self.get(digest, key)
        if session is not None:
            return session
        session = create()
        with self._lock:
            stored = self._sessions.get((digest, key))
            if stored is None:
                self._admit(session.nbytes)
                stored = self._sessions[(digest, key)] = session
            self._sessions.move_to_end((digest, key))
            self._evict()
        return stored

    def update(self, digest: str, key: Hashable = None) -> bool:
        """Account for a stored session that changed size; ``False`` when it outgrew the cap and was dropped."""
        with self._lock:
            session = self._sessions.get((digest, key))
            if session is None:
                return False
            if session.nbytes > self.max_bytes:
                del self._sessions[(digest, key)]
                return False
            self._sessions.move_to_end((digest, key))
            self._evict()
            return True

    def admit(self, nbytes: int) -> None:
        """``SessionTooLarge`` unless a session of ``nbytes`` could be kept (to refuse before building one)."""
        with self._lock:
            self._admit(nbytes)

    def discard(self, digest: str, key: Hashable = None) -> None:
        with self._lock:
            self._sessions.pop((digest, key), None)

    def _admit(self, nbytes: int) -> None:
        if nbytes > self.max_bytes:
            raise SessionTooLarge(nbytes, self.max_bytes)

    def _evict(self) -> None:
        """Drop least recently used sessions until within the cap (sessions grow as they are used)."""
        total = sum(s.nbytes for s in self._sessions.values())
        while total > self.max_bytes and self._sessions:
            _, oldest = self._sessions.popitem(last=False)
            total -= oldest.nbytes
