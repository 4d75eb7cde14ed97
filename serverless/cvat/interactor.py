"""The CVAT interactor: request body in, reply JSON out, sessions kept in between.

CVAT sends the whole frame and every click so far with each request, never the
previous mask, and nothing that tells annotators apart. The interactor keeps one
session per object of a frame, found again by the digest of the frame's bytes and the
object's first prompt (a repeated frame is not decoded again). A request's prompts are
applied in one canonical order (``Request.prompts``): the session keeps the longest
prefix of its history that the request's order still holds, undoes the rest and adds
the request's remaining prompts, so the mask is the same one a fresh process gives for
the same request, whatever this process served before.
"""
from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import Any, List, Optional

import numpy as np

import focalxl
from focalxl.image_files import ImageTooLarge, decode_image, read_header

from . import payload, reply
from .payload import Limits, Request, RequestError
from .settings import Settings

_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Reply:
    status: int
    body: str   # JSON


class Interactor:
    """CVAT interaction requests -> engine sessions -> CVAT replies; safe to share between threads."""

    def __init__(self, segmenter: focalxl.Segmenter, store: Optional[focalxl.SessionStore] = None,
                 limits: Limits = Limits(), lock_stripes: int = 64):
        self.segmenter = segmenter
        self.store = store if store is not None else focalxl.SessionStore()
        self.limits = limits
        self._locks = [threading.Lock() for _ in range(lock_stripes)]

    @classmethod
    def from_settings(cls, settings: Settings) -> "Interactor":
        return cls(settings.load(), focalxl.SessionStore(settings.session_mb * 1024 ** 2), settings.limits())

    def respond(self, body: Any) -> Reply:
        """Serve one request; bad input is a 4xx reply naming the field, never an exception."""
        try:
            return Reply(200, reply.mask_json(self.segment(payload.parse(body, self.limits))))
        except RequestError as error:
            return Reply(error.status, reply.error_json(str(error), error.field))
        except Exception as error:
            _log.exception("interaction failed")
            return Reply(500, reply.error_json(f"internal error: {error}", None))

    def segment(self, request: Request) -> focalxl.Result:
        """The object's session brought to the request's prompts in canonical order, and its result."""
        digest, key, prompts = request.digest, request.object_key, request.prompts()
        with self._locks[int(digest[:8], 16) % len(self._locks)]:
            session = self.store.get(digest, key)
            if session is not None:
                request.validate(session.shape)
            pending = _rewind(session, prompts) if session is not None else None
            if pending is None:
                session = self._new_session(request)
                pending = prompts
            try:
                result = None
                for prompt in pending:
                    result = session.add(prompt)
            except Exception:
                self.store.discard(digest, key)
                raise
            self.store.update(digest, key)     # kept only while it fits FOCALXL_SESSION_MB
            return result if result is not None else session.result()

    def _new_session(self, request: Request) -> focalxl.Session:
        """A fresh session for the request's object, kept in the store; the frame is decoded at most once."""
        known = self.store.find(request.digest)
        image = known.image if known is not None else self._decode(request.image)
        request.validate(image.shape[:2])
        try:
            session = self.segmenter.new_session(image)
            self.store.put(request.digest, request.object_key, session)
        except focalxl.SessionTooLarge as error:
            raise _session_too_large(error) from None
        return session

    def _decode(self, data: bytes) -> np.ndarray:
        try:
            header = read_header(data)
            if header is not None and header.width * header.height <= self.segmenter.max_pixels:
                self.store.admit(focalxl.Session.least_nbytes((header.height, header.width)))
            return decode_image(data, "image", self.segmenter.max_pixels)
        except ImageTooLarge as error:
            raise RequestError("image", f"image is {error.width}x{error.height} = {error.width * error.height} "
                                        f"pixels, over this function's limit of {error.max_pixels} "
                                        f"(FOCALXL_MAX_PIXELS)", status=413) from None
        except focalxl.SessionTooLarge as error:
            raise _session_too_large(error) from None
        except ValueError as error:
            raise RequestError("image", str(error)) from None


def _session_too_large(error: focalxl.SessionTooLarge) -> RequestError:
    return RequestError("image", f"image: {error} (FOCALXL_SESSION_MB)", status=413)


def _rewind(session: focalxl.Session, prompts: List[focalxl.Interaction]) -> Optional[List[focalxl.Interaction]]:
    """Undo the session's history past its longest prefix in ``prompts``; the prompts left to add, or
    ``None`` when nothing of it is kept (a new object)."""
    history = session.history
    kept = 0
    while kept < min(len(history), len(prompts)) and history[kept] == prompts[kept]:
        kept += 1
    if kept == 0:
        return None
    for _ in range(len(history) - kept):
        session.undo()
    return prompts[kept:]
