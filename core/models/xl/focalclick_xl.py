"""FocalClick-XL: the three subnets in one module, built from an :class:`XLConfig`."""
from __future__ import annotations

from torch import nn

from ... import runtime
from .config import XLConfig
from .context_net import ContextNet
from .detail_net import DetailNet
from .object_net import ObjectNet


class FocalClickXL(nn.Module):
    """Context-Net (once per image), Object-Net (per interaction), Detail-Net (per focus patch)."""

    def __init__(self, config: XLConfig):
        super().__init__()
        self.config = config
        self.context_net = ContextNet(config.context)
        self.object_net = ObjectNet(config.object, config.context.out_chans)
        self.detail_net = DetailNet(config.detail)


def build_focalclick_xl(config: XLConfig, seed: int = 0) -> FocalClickXL:
    """A model with random weights drawn from ``seed`` (the global RNG is left as it was), in eval mode."""
    return runtime.seeded(lambda: FocalClickXL(config).eval(), seed)
