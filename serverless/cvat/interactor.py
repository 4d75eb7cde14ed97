"""The CVAT interactor: request body in, reply JSON out, sessions kept in between.

CVAT sends the whole frame and every click so far with each request, never the
previous mask. The interactor therefore keeps one session per frame, found again by
the digest of the frame's bytes (a repeated frame is not decoded again), and brings
it to the request's prompts with the fewest steps: the interactions the request still
holds stay, later ones are undone, the request's new clicks are added. When nothing
of the session is kept (another box, another first click) a new object starts.
"""
from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import Any, List, Optional, Sequence

import numpy as np

import focalxl
from focalxl.image_files import ImageTooLarge, decode_image

from . import payload, reply
from .payload import Request, RequestError
from .settings import Settings

_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Reply:
    status: int
    body: str   # JSON


class Interactor:
    """CVAT interaction requests -> engine sessions -> CVAT replies; safe to share between threads."""

    def __init__(self, segmenter: focalxl.Segmenter, store: Optional[focalxl.SessionStore] = None,
                 lock_stripes: int = 64):
        self.segmenter = segmenter
        self.store = store if store is not None else focalxl.SessionStore()
        self._locks = [threading.Lock() for _ in range(lock_stripes)]

    @classmethod
    def from_settings(cls, settings: Settings) -> "Interactor":
        return cls(settings.load(), focalxl.SessionStore(settings.session_mb * 1024 ** 2))

    def respond(self, body: Any) -> Reply:
        """Serve one request; bad input is a 4xx reply naming the field, never an exception."""
        try:
            return Reply(200, reply.mask_json(self.segment(payload.parse(body))))
        except RequestError as error:
            return Reply(error.status, reply.error_json(str(error), error.field))
        except Exception as error:
            _log.exception("interaction failed")
            return Reply(500, reply.error_json(f"internal error: {error}", None))

    def segment(self, request: Request) -> focalxl.Result:
        """The frame's session brought to the request's prompts, and its result."""
        with self._locks[int(request.digest[:8], 16) % len(self._locks)]:
            session = self.store.get(request.digest)
            image = session.image if session is not None else self._decode(request.image)
            request.validate(image.shape[:2])
            pending = _rewind(session, request) if session is not None else None
            if pending is None:
                session = self.segmenter.new_session(image)
                self.store.put(request.digest, None, session)
                pending = request.prompts()
            try:
                result = None
                for prompt in pending:
                    result = session.add(prompt)
            except Exception:
                self.store.discard(request.digest)
                raise
            return result if result is not None else session.result()

    def _decode(self, data: bytes) -> np.ndarray:
        try:
            return decode_image(data, "image", self.segmenter.max_pixels)
        except ImageTooLarge as error:
            raise RequestError("image", f"image is {error.width}x{error.height} = {error.width * error.height} "
                                        f"pixels, over this function's limit of {error.max_pixels} "
                                        f"(FOCALXL_MAX_PIXELS)", status=413) from None
        except ValueError as error:
            raise RequestError("image", str(error)) from None


def _rewind(session: focalxl.Session, request: Request) -> Optional[List[focalxl.Interaction]]:
    """Undo what ``request`` no longer holds; the prompts left to add, or ``None`` for a new object."""
    history = session.history
    box = [request.box] if request.box else []
    if history[:len(box)] != box:
        return None
    kept, positives, negatives = len(box), 0, 0
    for interaction in history[kept:]:
        if _matches(interaction, request.positives, positives):
            positives += 1
        elif _matches(interaction, request.negatives, negatives):
            negatives += 1
        else:
            break
        kept += 1
    if kept == 0:
        return None
    for _ in range(len(history) - kept):
        session.undo()
    return list(request.positives[positives:]) + list(request.negatives[negatives:])


def _matches(interaction: focalxl.Interaction, clicks: Sequence[focalxl.Click], index: int) -> bool:
    return index < len(clicks) and interaction == clicks[index]
