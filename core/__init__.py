"""FocalClick-XL interactive segmentation: clicks, boxes, scribbles and masks in; masks and alpha out.

    import focalxl
    seg = focalxl.load("classical")
    session = seg.new_session(image_rgb_uint8)
    result = session.add(focalxl.Click(x=120.0, y=80.0, positive=True))
"""
from .interactions import Box, Click, CoarseMask, Interaction, Scribble
from .predictors import classical as _classical  # noqa: F401  (registers the "classical" preset)
from .predictors import learned as _learned  # noqa: F401  (registers the learned presets, loading torch lazily)
from .segmenter import Segmenter, load, presets
from .session import Result, Session, SessionConfig
from .store import SessionStore, SessionTooLarge, image_digest

__all__ = ["Box", "Click", "CoarseMask", "Interaction", "Scribble", "Segmenter", "load", "presets",
           "Result", "Session", "SessionConfig", "SessionStore", "SessionTooLarge", "image_digest"]
