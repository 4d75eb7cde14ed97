"""Limits on the work one request may ask for, and the JSON body reader that applies them.

=========================  ==================================================  =========
variable                   limit                                               default
=========================  ==================================================  =========
FOCALXL_MAX_BODY_MB        request body size (413)                             16
FOCALXL_MAX_JSON_DEPTH     nesting of arrays and objects in a body (400)       64
FOCALXL_MAX_PROMPTS        keypoints, rectangles and brush regions used by     200
                           one request (413)
FOCALXL_MAX_TASKS          tasks in one ``/predict`` (413)                     100
=========================  ==================================================  =========
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Any, Mapping, Optional

import numpy as np
from focalxl.settings import positive_int

_OPEN = np.zeros(256, np.int8)
_OPEN[[ord("["), ord("{")]] = 1
_OPEN[[ord("]"), ord("}")]] = -1


class LimitExceeded(ValueError):
    """A request asks for more than a configured limit allows; names the limit and its setting."""

    def __init__(self, message: str, status: int = 413):
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Limits:
    max_body_bytes: int = 16 * 1024 ** 2   # brush RLE decodes at 1-2 us per byte: seconds, not minutes
    max_json_depth: int = 64
    max_prompts: int = 200
    max_tasks: int = 100

    @classmethod
    def from_environment(cls, env: Optional[Mapping[str, str]] = None) -> "Limits":
        env = os.environ if env is None else env
        default = cls()
        return cls(max_body_bytes=positive_int(env, "FOCALXL_MAX_BODY_MB", default.max_body_bytes // 1024 ** 2) * 1024 ** 2,
                   max_json_depth=positive_int(env, "FOCALXL_MAX_JSON_DEPTH", default.max_json_depth),
                   max_prompts=positive_int(env, "FOCALXL_MAX_PROMPTS", default.max_prompts),
                   max_tasks=positive_int(env, "FOCALXL_MAX_TASKS", default.max_tasks))

    def read_json(self, data: bytes) -> Any:
        """A request body as JSON, its size and nesting checked before it is parsed."""
        if len(data) > self.max_body_bytes:
            raise LimitExceeded(self.body_message(len(data)))
        depth = json_depth(data)
        if depth > self.max_json_depth:
            raise LimitExceeded(f"the request body nests {depth} levels of arrays and objects, over the limit of "
                                f"{self.max_json_depth} (FOCALXL_MAX_JSON_DEPTH)", status=400)
        try:
            return json.loads(data)
        except (ValueError, RecursionError) as error:
            raise ValueError(f"the request body is not JSON: {str(error)[:200]}") from None

    def body_message(self, size: Optional[int] = None) -> str:
        has = f"has {size} bytes" if size is not None else "is too large"
        return f"the request body {has}, over the limit of {self.max_body_bytes} bytes (FOCALXL_MAX_BODY_MB)"

    def check_prompts(self, count: int, what: str) -> None:
        if count > self.max_prompts:
            raise LimitExceeded(f"{what}: {count} regions, over the limit of {self.max_prompts} per request "
                                f"(FOCALXL_MAX_PROMPTS)")

    def check_tasks(self, count: int) -> None:
        if count > self.max_tasks:
            raise LimitExceeded(f"tasks: {count} tasks, over the limit of {self.max_tasks} per request "
                                f"(FOCALXL_MAX_TASKS)")


def json_depth(data: bytes) -> int:
    """The deepest nesting of ``[``/``{`` in JSON text (brackets inside strings skipped), without parsing it."""
    text = np.frombuffer(data, np.uint8)
    backslashes = np.flatnonzero(text == ord("\\"))
    quotes = np.flatnonzero(text == ord('"'))
    if backslashes.size and quotes.size:   # a quote after an odd run of backslashes is escaped
        breaks = np.flatnonzero(np.diff(backslashes) != 1)
        run_ends = backslashes[np.append(breaks, backslashes.size - 1)]
        run_lengths = run_ends - backslashes[np.insert(breaks + 1, 0, 0)] + 1
        at = np.minimum(np.searchsorted(run_ends, quotes - 1), run_ends.size - 1)
        quotes = quotes[~((run_ends[at] == quotes - 1) & (run_lengths[at] % 2 == 1))]
    brackets = np.flatnonzero(_OPEN[text])
    outside = brackets[np.searchsorted(quotes, brackets) % 2 == 0]
    if not outside.size:
        return 0
    return int(np.cumsum(_OPEN[text[outside]], dtype=np.int64).max(initial=0))
