"""``sam-vit-b``, ``sam-vit-l``, ``sam-vit-h``: Segment Anything behind the predictor protocol.

How SAM fits the FocalClick loop, and why:

* **Context-Net** — SAM's image encoder on the whole image, resized to 1024 on its longer
  side, run once per image; the session caches the embedding, so later interactions
  run only the prompt encoder and the mask decoder.
* **Target Crop = the whole image** (``target_min_fraction = 1``). SAM's decoder
  predicts over the whole image from the whole history of prompts; keeping only a
  window of that prediction would stitch the new mask to the previous one along the
  window's edges, a mask no SAM prediction ever made. Progressive Merge still keeps
  changes local where it is on (a session started from an existing mask).
* **Object prediction at image resolution** (``input_size = None``): the mask is SAM's own,
  ``postprocess_masks(logits) > 0``, decided from the low-res logits
  (:mod:`focalxl.models.sam_postprocess`); resampling them into a zoomed raster and back
  would move the mask's edge. The probability is ``sigmoid(logit)`` along the mask's edge
  (where the upsampled low-res logits disagree in sign) and 1 or 0 elsewhere.
* **No Detail stage** (``detail_size = None``): SAM has no refinement network, and the
  mask must equal what ``SamPredictor`` gives for the same weights, image and prompts.
* **Prompts** — :mod:`focalxl.models.sam_prompts`. The mask prompt is the low-resolution
  logits of the prediction the current mask came from, exactly as a ``SamPredictor``
  loop feeds them back; when the mask came from elsewhere (an existing annotation,
  Progressive Merge, undo past a merge) it is that mask put through SAM's geometry.
  Predictions are filed under the name the session gives the map they became
  (``ObjectInput.state_after``), so finding them costs nothing per pixel.
* **Per click, work in proportion to what changes**: the decoder, then values only along
  the mask's edge, and the session rewrites only the box where the new prediction can differ
  from the one its map came from (``ObjectPrediction.box``); no hashing, conversion or copy
  of the frame outside that box (a speckled mask, as random weights give, has edges all over
  and its box is the frame).
  One click and nothing else asks SAM for three masks and keeps the best-scored one;
  anything more asks for one (SAM's guidance for ambiguous and unambiguous prompts).
"""
from __future__ import annotations

import os
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Optional, Tuple

import numpy as np
import torch
from PIL import Image

from .. import runtime
from ..models import sam as sam_networks
from ..models import sam_prompts
from ..models.sam_postprocess import MaskUpsampling
from .base import DetailInput, ObjectInput, ObjectPrediction

REMEMBERED_PREDICTIONS = 32     # low-res logits kept per session, so undo finds the prediction it returns to
# Presets whose bf16 masks agree with their fp32 ones (IoU >= 0.99 per click in
# ``python -m focalxl.bench.reference``): ``precision="auto"`` runs these in bf16 on CPUs with it.
BF16_AGREES: frozenset = frozenset()


@dataclass
class SamContext:
    """One image's SAM embedding and the low-res logits of the predictions made on it.

    Predictions are filed under the name of the probability map they gave the session
    (``ObjectInput.state_after``), so the mask prompt for the next interaction is found
    from the session's current map's name alone, whatever undo did in between.
    """

    features: torch.Tensor
    original_size: Tuple[int, int]
    input_size: Tuple[int, int]
    upsampling: Optional[MaskUpsampling] = None    # SAM's mask from its low-res logits (None: SAM 2's own way)
    predictions: "OrderedDict[int, torch.Tensor]" = field(default_factory=OrderedDict)

    @property
    def nbytes(self) -> int:
        tensors = [self.features, *self.predictions.values()]
        return sum(t.element_size() * t.nelement() for t in tensors)

    def remember(self, state: int, low_res_logits: torch.Tensor) -> None:
        self.predictions[state] = low_res_logits
        self.predictions.move_to_end(state)
        while len(self.predictions) > REMEMBERED_PREDICTIONS:
            self.predictions.popitem(last=False)

    def recall(self, state: int) -> Optional[torch.Tensor]:
        return self.predictions.get(state)


class SamPredictor:
    """Segment Anything: encoder once per image, prompt encoder + mask decoder per interaction.

    Not segment-anything's own ``SamPredictor`` (which needs torchvision); this one gives
    the same masks for the same weights, image and prompts.
    """

    target_min_fraction = 1.0
    input_size = None
    detail_size = None
    bounds_by_box = False     # the box is a prompt, as in the reference predictor, not a bound on the mask
    click_radius = 0.0

    def __init__(self, name: str, config: sam_networks.SamConfig, checkpoint: Optional[str | os.PathLike] = None,
                 device: Optional[str] = None, threads: Optional[int] = None, random_weights: bool = False,
                 precision: str = "auto"):
        source, self.device, self.dtype = runtime.downloadable(name, checkpoint, random_weights, device, threads,
                                                               precision, bf16_agrees=name in BF16_AGREES)
        self.name = name
        self.model = runtime.shared_model(("sam", config, *runtime.file_identity(source), str(self.device)),
                                          lambda: _build(config, source, self.device))
        with runtime.inference(self.device):
            # fixed per network: computed once, not per click; channels-last, i.e. token-major for the decoder
            self.dense_pe = self.model.prompt_encoder.get_dense_pe().contiguous(memory_format=torch.channels_last)

    def context(self, image: np.ndarray) -> SamContext:
        """The image embedding of ``image`` (``uint8[H, W, 3]`` RGB), as ``SamPredictor.set_image`` computes it."""
        height, width = image.shape[:2]
        input_size = sam_networks.preprocess_shape(height, width, self.model.image_encoder.img_size)
        resized = np.array(Image.fromarray(image).resize(input_size[::-1], Image.BILINEAR))
        pixels = torch.as_tensor(resized, device=self.device).permute(2, 0, 1).contiguous()[None]
        with runtime.inference(self.device, self.dtype):
            features = self.model.image_encoder(self.model.preprocess(pixels))
            features = features.contiguous(memory_format=torch.channels_last)    # token-major for the decoder, once
        upsampling = MaskUpsampling(input_size, (height, width), self.model.prompt_encoder.mask_input_size[0],
                                    self.model.image_encoder.img_size)
        return SamContext(features=features, original_size=(height, width), input_size=input_size,
                          upsampling=upsampling)

    def predict_object(self, inputs: ObjectInput) -> ObjectPrediction:
        """SAM's prediction over the crop, or, when it is committed as it is and the session's map came
        from an earlier prediction, over the box where the two can differ."""
        context: SamContext = inputs.context
        prompts = sam_prompts.from_history(inputs.history)
        mask_input = self._mask_input(prompts, inputs, context)
        low_res = self._decode(prompts, mask_input, context)
        logits = low_res[0, 0].cpu().numpy()
        upsampling = context.upsampling
        classes = upsampling.classes(logits)
        box = inputs.crop.box
        previous = context.recall(inputs.state) if inputs.state_after is not None else None
        if previous is not None and box == (0, 0, *context.original_size[::-1]):
            changed = upsampling.changed_box(upsampling.classes(previous[0, 0].cpu().numpy()), classes)
            box = changed if changed is not None else (0, 0, 1, 1)     # nothing changes: one pixel, as it was
        if inputs.state_after is not None:
            context.remember(inputs.state_after, low_res)
        return ObjectPrediction(None, prob=upsampling.probabilities(logits, classes, box), box=box)

    def refine(self, inputs: DetailInput) -> np.ndarray:
        """Unused (``detail_size = None``); the coarse map as it is."""
        return inputs.coarse_prob

    def _mask_input(self, prompts: sam_prompts.SamPrompts, inputs: ObjectInput,
                    context: SamContext) -> Optional[torch.Tensor]:
        """The mask prompt: a coarse mask just given, else the logits behind the current mask."""
        low_res = self.model.prompt_encoder.mask_input_size[0]
        if prompts.coarse_mask is not None:
            return self._as_prompt(prompts.coarse_mask.astype(np.float32), context, low_res)
        remembered = context.recall(inputs.state)
        if remembered is not None:
            return remembered
        if not (inputs.prev_prob >= 0.5).any():
            return None
        height, width = context.original_size
        whole = np.zeros((height, width), dtype=np.float32)
        x0, y0, x1, y1 = inputs.crop.box
        whole[y0:y1, x0:x1] = inputs.crop.give_back(inputs.prev_prob)
        return self._as_prompt(whole, context, low_res)

    def _as_prompt(self, prob: np.ndarray, context: SamContext, low_res: int) -> torch.Tensor:
        logits = sam_prompts.mask_prompt(prob, context.input_size, self.model.image_encoder.img_size, low_res)
        return torch.as_tensor(logits, device=self.device)[None]

    def _decode(self, prompts: sam_prompts.SamPrompts, mask_input: Optional[torch.Tensor],
                context: SamContext) -> torch.Tensor:
        """SAM's low-res logits ``float32[1, 1, h, w]`` of the best mask, as ``SamPredictor.predict`` picks it
        (on the predictor's device)."""
        points = None
        if prompts.points is not None:
            coords = sam_prompts.to_input_frame(prompts.points, context.original_size, context.input_size)
            points = (torch.as_tensor(coords, dtype=torch.float, device=self.device)[None],
                      torch.as_tensor(prompts.labels, dtype=torch.int, device=self.device)[None])
        box = None
        if prompts.box is not None:
            corners = sam_prompts.to_input_frame(prompts.box, context.original_size, context.input_size)
            box = torch.as_tensor(corners.reshape(1, 4), dtype=torch.float, device=self.device)
        multimask = prompts.single_point and mask_input is None
        with runtime.inference(self.device, self.dtype):
            sparse, dense = sam_networks.encode_prompts(self.model.prompt_encoder, points, box, mask_input)
            low_res, scores = sam_networks.predict_masks(self.model.mask_decoder, context.features, self.dense_pe,
                                                         sparse, dense, multimask)
            best = int(torch.argmax(scores[0])) if multimask else 0
        return low_res[:, best:best + 1].float()


def _build(config: sam_networks.SamConfig, checkpoint: Optional[str], device: torch.device):
    if checkpoint is None:
        return runtime.seeded(lambda: sam_networks.load(config, None)).to(device)
    return sam_networks.load(config, checkpoint).to(device)


def preset(variant: str):
    """The factory ``focalxl.load`` calls for ``sam-vit-{b,l,h}``."""
    name = f"sam-{variant.replace('_', '-')}"

    def build(checkpoint: Optional[str] = None, device: Optional[str] = None, threads: Optional[int] = None,
              random_weights: bool = False, precision: str = "auto") -> SamPredictor:
        return SamPredictor(name, sam_networks.OFFICIAL[variant], checkpoint, device, threads, random_weights,
                            precision)

    return build
