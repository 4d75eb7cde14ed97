"""The interactor's settings, read from environment variables (set in function.yaml or by ``nuctl --env``).

=====================  ==============================================  =============
variable               meaning                                         default
=====================  ==============================================  =============
FOCALXL_PRESET         predictor preset (``focalxl presets``)          ``classical``
FOCALXL_CHECKPOINT     weights file inside the function image          none
FOCALXL_DEVICE         ``cuda`` / ``cpu`` for learned presets          ``auto``
FOCALXL_MAX_PIXELS     larger frames are refused with HTTP 413         50000000
FOCALXL_SESSION_MB     memory kept for sessions (image, mask, undo);   2048
                       a frame whose session cannot fit gets 413
FOCALXL_MAX_PROMPTS    clicks (and box) per request; more is 413       100
FOCALXL_MAX_BODY_MB    request body size; larger is 413                32
=====================  ==============================================  =============
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Optional

import focalxl
from focalxl.settings import positive_int

from .payload import Limits


@dataclass(frozen=True)
class Settings:
    preset: str = "classical"
    checkpoint: Optional[str] = None
    device: Optional[str] = None
    max_pixels: int = 50_000_000
    session_mb: int = 2048
    max_prompts: int = Limits.max_prompts
    max_body_mb: int = Limits.max_body_bytes // 1024 ** 2

    @classmethod
    def from_environment(cls, env: Mapping[str, str]) -> "Settings":
        """Settings from ``env``; ``ValueError`` naming the variable when one is malformed."""
        default = cls()
        device = env.get("FOCALXL_DEVICE", "").strip()
        return cls(preset=env.get("FOCALXL_PRESET") or default.preset,
                   checkpoint=env.get("FOCALXL_CHECKPOINT") or None,
                   device=None if device in ("", "auto") else device,
                   max_pixels=positive_int(env, "FOCALXL_MAX_PIXELS", default.max_pixels),
                   session_mb=positive_int(env, "FOCALXL_SESSION_MB", default.session_mb),
                   max_prompts=positive_int(env, "FOCALXL_MAX_PROMPTS", default.max_prompts),
                   max_body_mb=positive_int(env, "FOCALXL_MAX_BODY_MB", default.max_body_mb))

    def limits(self) -> Limits:
        return Limits(max_prompts=self.max_prompts, max_body_bytes=self.max_body_mb * 1024 ** 2)

    def load(self) -> focalxl.Segmenter:
        """Build the predictor once; ``device`` reaches only presets that take one."""
        options = {"device": self.device} if self.device else {}
        return focalxl.load(self.preset, self.checkpoint, max_pixels=self.max_pixels, **options)
