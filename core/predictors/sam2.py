"""``sam2.1-hiera-{tiny,small,base-plus,large}``: SAM 2.1 behind the predictor protocol.

SAM 2.1 fits the FocalClick loop the way SAM does (:mod:`focalxl.predictors.sam`, whose
loop this predictor shares): the image encoder is the Context-Net, run once per image,
and the session caches its embedding together with the two high-resolution feature
levels SAM 2's mask decoder reads; the Target Crop is the whole image; there is no
Detail stage; the prompts come from the interaction history through
:mod:`focalxl.models.sam_prompts` (clicks, the newest box, the previous low-resolution
logits or a coarse mask). One click and nothing else asks for three masks and keeps
the best-scored one, anything more for one mask, as ``SAM2ImagePredictor``'s example
notebook does.

What differs from SAM is SAM 2's geometry, as ``SAM2ImagePredictor`` has it: the image
is squashed to a 1024x1024 square (no padding), prompts are scaled by 1024 / width
and 1024 / height in float32, a box goes in as two corner points ahead of the clicks,
and the low-resolution logits fed back are clamped to [-32, 32]. The mask is one
``F.interpolate`` of the logits to the image size, thresholded at 0, over the whole image.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Optional, Tuple

import numpy as np
import torch

from .. import runtime
from ..models import sam2 as sam2_networks
from ..models import sam_prompts
from .base import ObjectInput, ObjectPrediction
from .sam import SamContext, SamPredictor

LOW_RES_LIMIT = 32.0     # SAM2ImagePredictor clamps the logits it hands back for the next call
SIGN_MARGIN = 1e-3       # SAM 2's "logit > 0" survives the engine's "sigmoid >= 0.5" in float32
# Presets whose bf16 masks agree with their fp32 ones (mask IoU >= 0.99 on every click of
# ``python -m focalxl.bench.reference``): none; tiny and small fall to 0.984 and 0.980 on
# Berkeley photos, base-plus and large to 0.989 and 0.987 on the bench photo. So
# ``precision="auto"`` keeps fp32 on CPU, and uses bf16 on CUDA as Meta's own examples do.
BF16_AGREES: frozenset = frozenset()


@dataclass
class Sam2Context(SamContext):
    """One image's SAM 2 embedding, its high-resolution feature levels and the predictions made on it."""

    high_res: Tuple[torch.Tensor, ...] = field(default_factory=tuple)

    @property
    def nbytes(self) -> int:
        return super().nbytes + sum(t.element_size() * t.nelement() for t in self.high_res)


class Sam2Predictor(SamPredictor):
    """SAM 2.1: encoder once per image, prompt encoder + mask decoder per interaction.

    Not sam2's own ``SAM2ImagePredictor`` (which needs torchvision); this one gives the
    same masks for the same weights, image and prompts.
    """

    def __init__(self, name: str, config: sam2_networks.Sam2Config,
                 checkpoint: Optional[str | os.PathLike] = None, device: Optional[str] = None,
                 threads: Optional[int] = None, random_weights: bool = False, precision: str = "auto"):
        source, self.device, self.dtype = runtime.downloadable(name, checkpoint, random_weights, device, threads,
                                                               precision, bf16_agrees=name in BF16_AGREES)
        self.name = name
        self.model = runtime.shared_model(("sam2", config, *runtime.file_identity(source), str(self.device)),
                                          lambda: _build(config, source, self.device))

    def context(self, image: np.ndarray) -> Sam2Context:
        """The image features of ``image`` (``uint8[H, W, 3]`` RGB), as ``SAM2ImagePredictor.set_image`` computes them."""
        height, width = image.shape[:2]
        pixels = torch.as_tensor(np.ascontiguousarray(image)).permute(2, 0, 1)[None]
        pixels = self.model.preprocess(pixels).to(self.device)    # on the CPU, as SAM2ImagePredictor does
        with runtime.inference(self.device, self.dtype):
            embedding, high_res = self.model.encode(pixels)
        side = self.model.image_size
        return Sam2Context(features=embedding, original_size=(height, width), input_size=(side, side),
                           high_res=high_res)

    def predict_object(self, inputs: ObjectInput) -> ObjectPrediction:
        context: Sam2Context = inputs.context
        prompts = sam_prompts.from_history(inputs.history)
        mask_input = self._mask_input(prompts, inputs, context)
        low_res, logits = self._decode(prompts, mask_input, context)
        prob = probabilities(logits).numpy()
        if inputs.state_after is not None:
            context.remember(inputs.state_after, low_res)
        x0, y0, x1, y1 = inputs.crop.box
        return ObjectPrediction(None, prob=prob[y0:y1, x0:x1])

    def _as_prompt(self, prob: np.ndarray, context: SamContext, low_res: int) -> torch.Tensor:
        logits = sam_prompts.mask_prompt(prob, context.input_size, self.model.image_size, low_res)
        return torch.as_tensor(logits, device=self.device)[None]

    def _decode(self, prompts: sam_prompts.SamPrompts, mask_input: Optional[torch.Tensor],
                context: Sam2Context) -> Tuple[torch.Tensor, torch.Tensor]:
        """SAM 2's clamped low-res logits ``[1, 1, 256, 256]`` and its logits ``[H, W]`` at image
        resolution less the mask threshold, on the CPU, as ``SAM2ImagePredictor.predict`` gives them."""
        coords, labels = [], []
        if prompts.box is not None:
            coords.append(self._to_input_frame(prompts.box.reshape(2, 2), context))
            labels.append(torch.tensor([2, 3], dtype=torch.int, device=self.device))
        if prompts.points is not None:
            coords.append(self._to_input_frame(prompts.points, context))
            labels.append(torch.as_tensor(prompts.labels, dtype=torch.int, device=self.device))
        points = (torch.cat(coords)[None], torch.cat(labels)[None]) if coords else None
        multimask = prompts.single_point and mask_input is None
        with runtime.inference(self.device, self.dtype):
            low_res, scores = self.model.decode(context.features, context.high_res, points, mask_input, multimask)
            best = int(torch.argmax(scores[0])) if multimask else 0
            low_res = low_res[:, best:best + 1].float()
            logits = torch.nn.functional.interpolate(low_res, context.original_size, mode="bilinear",
                                                     align_corners=False) - self.model.mask_threshold
        return low_res.clamp(-LOW_RES_LIMIT, LOW_RES_LIMIT), logits[0, 0].cpu()

    def _to_input_frame(self, coords: np.ndarray, context: SamContext) -> torch.Tensor:
        """Image-pixel ``(x, y)`` pairs in the encoder's square frame, computed as SAM2Transforms does."""
        height, width = context.original_size
        scaled = torch.as_tensor(coords, dtype=torch.float, device=self.device).clone()
        scaled[..., 0] = scaled[..., 0] / width
        scaled[..., 1] = scaled[..., 1] / height
        return scaled * self.model.image_size


def probabilities(logits: torch.Tensor) -> torch.Tensor:
    """``sigmoid(logits)``, ``>= 0.5`` exactly where the mask ``logits > 0`` is (tiny negative
    logits would round to 0.5 in float32, so non-positive ones are pushed below ``-SIGN_MARGIN``)."""
    with torch.inference_mode():
        return torch.sigmoid(torch.where(logits > 0, logits, logits.clamp(max=-SIGN_MARGIN)))


def _build(config: sam2_networks.Sam2Config, checkpoint: Optional[str], device: torch.device) -> sam2_networks.Sam2Image:
    if checkpoint is None:
        return runtime.seeded(lambda: sam2_networks.Sam2Image(sam2_networks.load(config, None))).to(device)
    return sam2_networks.Sam2Image(sam2_networks.load(config, checkpoint)).to(device)


def preset(variant: str):
    """The factory ``focalxl.load`` calls for ``sam2.1-hiera-{tiny,small,base-plus,large}``."""
    name = f"sam2.1-hiera-{variant.replace('_', '-')}"

    def build(checkpoint: Optional[str] = None, device: Optional[str] = None, threads: Optional[int] = None,
              random_weights: bool = False, precision: str = "auto") -> Sam2Predictor:
        return Sam2Predictor(name, sam2_networks.OFFICIAL[variant], checkpoint, device, threads, random_weights,
                             precision)

    return build
