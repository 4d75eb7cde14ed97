"""FocalClick-XL's training stages: samples and objectives.

* ``object`` — clicks (first clicks plus 0-3 corrective rounds from the model's own
  predictions), Context-Net on the whole picture (adapters train, SAM's encoder is
  frozen), Object-Net on the Target Crop; NFL on its logits;
* ``prompt-box`` / ``prompt-scribble`` / ``prompt-mask`` — one prompt of that kind
  (jittered tight box; scribbles from the four meta-simulators; a coarse mask from
  erosion, dilation, down-sampling or, for a quarter of the samples, the model's own
  prediction from its first click) through that kind's prompting layer only; NFL;
* ``detail`` — Detail-Net on an image patch plus the trimap of a perturbed mask, from
  segmentation masks and from matting foregrounds composited onto backgrounds; MSE on
  alpha over the trimap's unknown band.
"""
from __future__ import annotations

from functools import partial
from typing import Any, Dict, List, Sequence

import cv2
import numpy as np
import torch
from torch import Tensor, nn

from ..bimap import BiMap
from ..crops import Crop
from ..interactions import Box, CoarseMask
from ..models.segformer import IMAGENET_MEAN, IMAGENET_STD
from ..models.xl.config import XLConfig
from ..models.xl.context_net import sam_input
from ..models.xl.focalclick_xl import FocalClickXL
from ..models.xl.trimap import UNKNOWN, one_hot, trimap
from . import scribbles
from .boxes import jittered_box
from .clicks import MAX_POINTS, disks, first_clicks
from .coarse_masks import perturb
from .crop_simulation import augment, object_window, take, target_crop
from .datasets import MattingFolder, MattingSample
from .losses import alpha_mse, normalized_focal_loss
from .objectives import evaluating, simulate_rounds
from .samples import label_array, picture_array
from .stages import PROMPT_KINDS
from .tasks import Task

MODEL_MASK_PROB = 0.25       # prompt-mask: share of coarse masks that are the model's own prediction
NEGATIVE_SCRIBBLE_PROB = 0.5
DETAIL_BLUR = 7              # px: the perturbed mask is blurred into a probability map before the trimap


def _imagenet(pictures: Tensor) -> Tensor:
    mean = torch.tensor(IMAGENET_MEAN, device=pictures.device).view(1, 3, 1, 1)
    std = torch.tensor(IMAGENET_STD, device=pictures.device).view(1, 3, 1, 1)
    return (pictures - mean) / std


# --------------------------------------------------------------------------- samples

def prompt_map(crop_gt: np.ndarray, kind: str, rng: np.random.Generator, radius: float) -> np.ndarray:
    """``float32[2, s, s]``: the bi-map of one simulated prompt of ``kind`` on the crop's object."""
    size = crop_gt.shape[0]
    raster = Crop((0, 0, size, size), size, size)
    if kind == "box":
        prompts = [Box(*jittered_box(crop_gt, rng))]
    elif kind == "scribble":
        prompts = scribbles.simulate(crop_gt, rng)
        if rng.random() < NEGATIVE_SCRIBBLE_PROB:
            ring = cv2.dilate(crop_gt.astype(np.uint8), np.ones((3, 3), np.uint8), iterations=size // 8).astype(bool)
            prompts += scribbles.simulate(ring & ~crop_gt, rng, positive=False)
    elif kind == "mask":
        prompts = [CoarseMask(perturb(crop_gt, rng)[0])]
    else:
        prompts = []
    return BiMap.render(prompts, raster, radius).stacked()


def xl_object_sample(sample: Any, rng: np.random.Generator, config: XLConfig, kind: str) -> Dict[str, Any]:
    """Target Crop, the whole picture for the Context-Net, first clicks and one ``kind`` prompt."""
    crop = target_crop(sample.image, sample.gt, sample.ignore, config.input_size, rng)
    context, (height, width) = sam_input(np.ascontiguousarray(crop.picture), config.context.img_size)
    kx, ky = width / crop.picture.shape[1], height / crop.picture.shape[0]
    x1, y1, x2, y2 = crop.window
    valid = None if crop.ignore is None else ~crop.ignore
    return {"image": picture_array(crop.image), "label": label_array(crop.gt, crop.ignore),
            "context_image": context[0].numpy(), "context_box": np.array([x1 * kx, y1 * ky, x2 * kx, y2 * ky],
                                                                         dtype=np.float32),
            "clicks": first_clicks(crop.gt, rng, valid, MAX_POINTS),
            "prompt": prompt_map(crop.gt, kind, rng, config.click_radius)}


def detail_sample(sample: Any, rng: np.random.Generator, config: XLConfig) -> Dict[str, Any]:
    """An image patch, the trimap of a perturbed mask, and the alpha to predict."""
    if isinstance(sample, MattingSample):
        background = cv2.resize(sample.background, sample.foreground.shape[1::-1], interpolation=cv2.INTER_LINEAR)
        alpha = sample.alpha[..., None]
        picture = np.clip(alpha * sample.foreground + (1 - alpha) * background, 0, 255).astype(np.uint8)
        picture, matte = augment(rng, picture, sample.alpha)
    else:
        picture, gt = augment(rng, sample.image, sample.gt.astype(bool))
        matte = gt.astype(np.float32)
    inside = matte > 0.5
    height, width = inside.shape
    window = object_window(inside, rng) if inside.any() else (0, 0, width, height)
    size = config.patch_size
    image, matte = take(picture, window, size), take(matte.astype(np.float32), window, size)
    gt = matte > 0.5
    coarse = perturb(gt, rng)[0] if gt.any() else gt
    prob = cv2.GaussianBlur(coarse.astype(np.float32), (DETAIL_BLUR, DETAIL_BLUR), 0)
    labels = trimap(prob, config.trimap_band, np.zeros_like(gt), np.zeros_like(gt))
    normalised = ((image.astype(np.float32) / 255.0 - np.float32(IMAGENET_MEAN)) / np.float32(IMAGENET_STD))
    return {"patch": np.concatenate([normalised.transpose(2, 0, 1), one_hot(labels)]).astype(np.float32),
            "alpha": matte[None].astype(np.float32), "unknown": (labels == UNKNOWN)[None].astype(np.float32)}


# --------------------------------------------------------------------------- objectives

class XLObjectObjective(nn.Module):
    """Object-Net (+ adapters in the ``object`` stage) on clicks or one prompt kind; NFL."""

    def __init__(self, network: FocalClickXL, stage: str):
        super().__init__()
        self.network = network
        self.stage = stage
        self.kind = PROMPT_KINDS.get(stage, "click")

    def _boxes(self, batch: Dict[str, Tensor]) -> Tensor:
        index = torch.arange(len(batch["context_box"]), device=batch["context_box"].device, dtype=torch.float32)
        return torch.cat([index[:, None], batch["context_box"].float()], dim=1)

    def _predict(self, image: Tensor, kind: str, bimap: Tensor, prev: Tensor, context: Tensor, boxes: Tensor) -> Tensor:
        scale = 1.0 / self.network.config.context.patch_size
        return self.network.object_net(_imagenet(image), {kind: bimap}, prev, context, boxes, scale)

    def _clicks_map(self, clicks: Tensor, image: Tensor) -> Tensor:
        return disks(clicks, tuple(image.shape[-2:]), self.network.config.click_radius)

    def prepare(self, batch: Dict[str, Tensor], rounds: int, seed: int, step: int) -> Dict[str, Tensor]:
        image, label, boxes = batch["image"], batch["label"], self._boxes(batch)
        prev = torch.zeros_like(label)
        with torch.no_grad():
            context = self.network.context_net(batch["context_image"])
        if self.kind == "click":
            predict = lambda prev_, clicks: self._predict(image, "click", self._clicks_map(clicks, image), prev_,
                                                          context, boxes)
            prev = simulate_rounds(self.network, predict, batch, rounds, seed, step)
            prompt = self._clicks_map(batch["clicks"], image)
        else:
            prompt = batch["prompt"]
            if self.kind == "mask":
                prompt = self._model_masks(batch, prompt, context, boxes, seed, step)
        return {"image": image, "label": label, "prev": prev, "prompt": prompt, "boxes": boxes,
                "context_image": batch["context_image"],
                "context": context if self.stage != "object" else torch.empty(0)}

    @torch.no_grad()
    def _model_masks(self, batch, prompt: Tensor, context: Tensor, boxes: Tensor, seed: int, step: int) -> Tensor:
        """For a quarter of the samples, the coarse mask is the model's own prediction from the first click."""
        chosen = [np.random.default_rng([seed, step, int(i), 7]).random() < MODEL_MASK_PROB for i in batch["index"]]
        if not any(chosen):
            return prompt
        image = batch["image"]
        first = batch["clicks"].clone()
        first[:, 1:] = -1
        with evaluating(self.network):
            logits = self._predict(image, "click", self._clicks_map(first, image), torch.zeros_like(batch["label"]),
                                   context, boxes)
        own = torch.cat([(logits > 0).float(), torch.zeros_like(logits)], dim=1)
        pick = torch.tensor(chosen, device=prompt.device).view(-1, 1, 1, 1)
        return torch.where(pick, own, prompt)

    def forward(self, image: Tensor, label: Tensor, prev: Tensor, prompt: Tensor, boxes: Tensor,
                context_image: Tensor, context: Tensor) -> Dict[str, Tensor]:
        if self.stage == "object":
            context = self.network.context_net(context_image)
        logits = self._predict(image, self.kind, prompt, prev, context, boxes)
        loss = normalized_focal_loss(logits, label)
        return {"nfl": loss, "total": loss}


class DetailObjective(nn.Module):
    """Detail-Net on image + trimap patches; MSE on alpha over the unknown band."""

    def __init__(self, network: FocalClickXL):
        super().__init__()
        self.network = network

    def prepare(self, batch: Dict[str, Tensor], rounds: int, seed: int, step: int) -> Dict[str, Tensor]:
        return {"patch": batch["patch"], "alpha": batch["alpha"], "unknown": batch["unknown"]}

    def forward(self, patch: Tensor, alpha: Tensor, unknown: Tensor) -> Dict[str, Tensor]:
        loss = alpha_mse(self.network.detail_net(patch), alpha, unknown)
        return {"alpha_mse": loss, "total": loss}


def build_xl_task(network: FocalClickXL, stage: str, sources: Sequence[Sequence[Any]]) -> Task:
    config = network.config
    segmentation: List[Sequence[Any]] = [s for s in sources if not isinstance(s, MattingFolder)]
    if stage == "detail":
        return Task(DetailObjective(network), partial(detail_sample, config=config), list(sources))
    if not segmentation:
        raise ValueError(f"--data: stage {stage} trains on segmentation datasets; only matting folders were given")
    kind = PROMPT_KINDS.get(stage, "click")
    return Task(XLObjectObjective(network, stage), partial(xl_object_sample, config=config, kind=kind), segmentation)
