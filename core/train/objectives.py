"""What one training step computes for each kind of network: the simulated interaction
rounds (no gradient) and the forward pass with its losses (with gradient).

An objective is an ``nn.Module`` holding the network, so ``DistributedDataParallel``
wraps it whole and one ``forward`` call covers everything the gradient flows through.
``forward`` returns per-sample losses ``{name: [B]}`` and ``"total"``.
"""
from __future__ import annotations

import contextlib
from typing import Callable, Dict, Iterator, List

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..models.focalclick import REFINE_RADIUS, FocalClick
from ..models.roi_align import roi_align
from .clicks import corrective_click, disks
from .losses import IGNORE, boundary_bce, boundary_weighted_nfl, normalized_focal_loss, sigmoid_bce

MAX_CORRECTIVE_ROUNDS = 3   # ClickSEG: num_iters = randint(0, max_num_next_clicks=3)
AUX_WEIGHT = 0.4            # ClickSEG HRNet configs: instance_aux_loss_weight


@contextlib.contextmanager
def evaluating(network: nn.Module) -> Iterator[None]:
    """Eval mode (BatchNorm on running statistics) for the simulated rounds, each module's mode restored after."""
    modes = [(module, module.training) for module in network.modules()]
    network.eval()
    try:
        yield
    finally:
        for module, mode in modes:
            module.training = mode


def focus_clicks(clicks: Tensor, roi: Tensor, size: int) -> Tensor:
    """Clicks of the Target Crop raster mapped into each sample's Focus Crop raster of side ``size``."""
    x1, y1, x2, y2 = (roi[:, i, None] for i in range(4))
    rows = (clicks[..., 0].float() - y1) * size / (y2 - y1)
    cols = (clicks[..., 1].float() - x1) * size / (x2 - x1)
    used = clicks[..., 0] >= 0
    mapped = torch.stack([rows, cols, clicks[..., 2].float()], dim=-1)
    return torch.where(used[..., None], mapped, torch.full_like(mapped, -1.0))


@torch.no_grad()
def simulate_rounds(network: nn.Module, predict: Callable[[Tensor, Tensor], Tensor], batch: Dict[str, Tensor],
                    rounds: int, seed: int, step: int) -> Tensor:
    """RITM's iterative training: ``rounds`` rounds of corrective clicks from the network's own
    predictions (eval mode, no gradient, the previous mask fed back). ``predict(prev, clicks)``
    gives logits; returns the last round's probabilities (zeros for no round) and updates
    ``batch['clicks']``. Each sample's click draws come from ``[seed, step, index, round]``."""
    label = batch["label"]
    prev = torch.zeros_like(label, dtype=torch.float32)
    if rounds == 0:
        return prev
    clicks = batch["clicks"].cpu().numpy().copy()
    gt = (label[:, 0] > 0.5).cpu().numpy()
    valid = (label[:, 0] != IGNORE).cpu().numpy()
    indices = batch["index"].cpu().numpy()
    with evaluating(network):
        for round_index in range(rounds):
            prev = torch.sigmoid(predict(prev, torch.from_numpy(clicks).to(label.device)).float())
            probs = prev[:, 0].cpu().numpy()
            for i in range(len(clicks)):
                rng = np.random.default_rng([seed, step, int(indices[i]), round_index])
                corrective_click(clicks[i], gt[i], probs[i], rng, round_index, valid[i])
    batch["clicks"] = torch.from_numpy(clicks).to(label.device)
    return prev


class FocalClickObjective(nn.Module):
    """Segmentor + Refiner end to end: NFL on the coarse logits, boundary-weighted NFL on the
    refined Focus-Crop logits, BCE on the boundary map (ClickSEG ``focalclick`` configs); HRNet
    models add 0.4 x BCE on their auxiliary OCR logits, caught from the extractor's output."""

    def __init__(self, network: FocalClick):
        super().__init__()
        self.network = network
        self._aux: List[Tensor] = []
        if network.arch.family == "hrnet":
            network.feature_extractor.register_forward_hook(lambda module, inputs, output: self._keep_aux(output[1]))

    def _keep_aux(self, aux: Tensor) -> None:
        self._aux[:] = [aux]

    def segment(self, image: Tensor, prev: Tensor, clicks: Tensor):
        maps = disks(clicks, tuple(image.shape[-2:]), self.network.arch.click_radius)
        return self.network.segment(image, prev, maps)

    def prepare(self, batch: Dict[str, Tensor], rounds: int, seed: int, step: int) -> Dict[str, Tensor]:
        """The forward pass's inputs, after ``rounds`` simulated rounds of corrective clicks."""
        prev = self.simulate(batch, rounds, seed, step)
        return {"image": batch["image"], "prev": prev, "clicks": batch["clicks"], "label": batch["label"],
                "roi": batch["roi"], "focus_image": batch["focus_image"], "focus_label": batch["focus_label"],
                "focus_boundary": batch["focus_boundary"]}

    @torch.no_grad()
    def simulate(self, batch: Dict[str, Tensor], rounds: int, seed: int, step: int) -> Tensor:
        predict = lambda prev, clicks: self.segment(batch["image"], prev, clicks)[0]
        return simulate_rounds(self.network, predict, batch, rounds, seed, step)

    def forward(self, image: Tensor, prev: Tensor, clicks: Tensor, label: Tensor, roi: Tensor,
                focus_image: Tensor, focus_label: Tensor, focus_boundary: Tensor) -> Dict[str, Tensor]:
        logits, feature = self.segment(image, prev, clicks)
        size = focus_image.shape[-1]
        rois = torch.cat([torch.arange(len(roi), device=roi.device, dtype=roi.dtype)[:, None], roi], dim=1)
        stride = logits.shape[-1] / feature.shape[-1]
        grid = (max(1, round(size / stride)),) * 2
        focus_feature = roi_align(feature, rois, grid, spatial_scale=1 / stride, aligned=True)
        focus_logits = roi_align(logits, rois, (size, size), spatial_scale=1.0, aligned=True)
        focus_maps = disks(focus_clicks(clicks, roi, size), (size, size), float(REFINE_RADIUS))
        refined, boundary = self.network.refiner(focus_image, focus_maps, focus_feature, focus_logits)
        losses = {"coarse_nfl": normalized_focal_loss(logits, label),
                  "refined_nfl": boundary_weighted_nfl(refined, focus_label, focus_boundary),
                  "boundary_bce": boundary_bce(boundary, focus_boundary)}
        if self._aux:
            aux = F.interpolate(self._aux.pop(), size=label.shape[-2:], mode="bilinear", align_corners=True)
            losses["aux_bce"] = AUX_WEIGHT * sigmoid_bce(aux, label)
        losses["total"] = sum(losses.values())
        return losses
