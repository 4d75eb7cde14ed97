"""Inference copies of a FocalClick network: the same function, fewer and cheaper operations.

:func:`inference_copy` returns a copy of a network in eval mode that computes what the
network computes, up to float rounding (tests hold it to 1e-5), and leaves the network
itself (its parameters, its state dict, what training and checkpoints see) untouched:

* **BatchNorm folding**: every BatchNorm that reads a convolution's output directly is
  folded into that convolution's weight and bias, and leaves a sequence it was in (an
  ``nn.Identity`` where a forward calls it by name).
* **SegFormer's decode head reordered**: the head embeds ``c1..c4`` with a linear map
  each, upsamples ``c2..c4`` to ``c1``'s grid and mixes the concatenation with a 1x1
  convolution (``linear_fuse``, 4 x 256 -> 256 channels at stride 4: most of MiT-B0's
  head). Linear maps commute with bilinear upsampling (its weights sum to 1), so each
  level is mapped straight to the fused width at its own resolution and only then
  upsampled and summed, with the embedding, ``linear_fuse`` and its BatchNorm in one matrix.
* **HRNet's auxiliary head reordered** the same way: its first 1x1 convolution (and
  BatchNorm) reads the four branches concatenated at stride 4; each branch is mapped at its
  own resolution and upsampled after (the concatenation itself still feeds OCR's 3x3 conv).
* **The Refiner's two heads in one convolution** (32 -> 2 channels instead of two 32 -> 1).
* **Channels-last layout** for every convolution weight: oneDNN's depthwise and strided
  convolutions (the Refiner's) are several times faster on NHWC tensors.
* **oneDNN for every convolution** (:class:`OneDNNConv2d`): with one thread PyTorch sends a
  non-strided convolution of a small input to its im2col path, which copies the channels-last
  weight every call; oneDNN's kernel is faster on these sizes (HRNet-18s segment + refine
  37.7 -> 34.9 ms, SegFormer-B0 24.5 -> 23.3, median of 40 on this machine).
* **No RoIAlign for a whole-raster Focus Crop**: it is then the identity (samples on the pixel
  centres, weights 1 and 0), so the Refiner takes the feature and logits as they are.
* **Frozen traces**: where no autograd or autocast is active, ``segment`` and the Refiner run
  as TorchScript traces of themselves, frozen (weights as constants), one per input signature
  (:func:`frozen_call`): the same operations without Python's per-module dispatch, which
  dominates networks of this many small tensors (HRNet-18s at 128x128: 28 -> 21 ms a segment).

Parameters the copy does not change are shared with the network, not duplicated.
:func:`for_inference` keeps one copy per network while the network lives, and builds a
new one when the network's parameters change in place (a state dict loaded, a training step).
"""
from __future__ import annotations

import copy
import threading
import warnings
import weakref
from typing import Callable, Dict, List, Optional, Sequence, Tuple, Type

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .focalclick import ConvNormReLU, FocalClick, Refiner, SeparableConvNormReLU
from .hrnet import BasicBlock, Bottleneck, HighResolutionNet
from .segformer import SegFormerHead

# (convolution, BatchNorm reading its output) attribute pairs, per module class; pairs
# inside an ``nn.Sequential`` are found by position.
CONV_BN_PAIRS: Dict[Type[nn.Module], Tuple[Tuple[str, str], ...]] = {
    ConvNormReLU: (("conv", "norm"),),
    SeparableConvNormReLU: (("conv1x1", "norm"),),
    BasicBlock: (("conv1", "bn1"), ("conv2", "bn2")),
    Bottleneck: (("conv1", "bn1"), ("conv2", "bn2"), ("conv3", "bn3")),
    HighResolutionNet: (("conv1", "bn1"), ("conv2", "bn2")),
}


_COPIES: "weakref.WeakKeyDictionary[FocalClick, Tuple[List[Tensor], List[int], FocalClick]]" = \
    weakref.WeakKeyDictionary()
_COPIES_LOCK = threading.Lock()


def for_inference(network: FocalClick) -> FocalClick:
    """:func:`inference_copy` of ``network`` as its parameters are now, built once."""
    with _COPIES_LOCK:
        kept = _COPIES.get(network)
        if kept is None or [tensor._version for tensor in kept[0]] != kept[1]:
            tensors = [*network.parameters(), *network.buffers()]
            kept = _COPIES[network] = (tensors, [tensor._version for tensor in tensors], inference_copy(network))
        return kept[2]


def inference_copy(network: FocalClick) -> FocalClick:
    """A copy of ``network`` for inference only (see the module docstring)."""
    shared = {id(tensor): tensor for tensor in [*network.parameters(), *network.buffers()]}
    twin = copy.deepcopy(network, memo=dict(shared)).eval()
    twin.__class__ = InferenceFocalClick
    for module in list(twin.modules()):
        if isinstance(module, SegFormerHead):
            _replace(twin, module, ReorderedSegFormerHead(module))
        elif isinstance(module, Refiner):
            _replace(twin, module, MergedHeadsRefiner(module))
        elif isinstance(module, HighResolutionNet):
            _replace(twin, module, ReorderedAuxHRNet(module))
    fold_batchnorm(twin)
    for module in twin.modules():
        if isinstance(module, nn.Conv2d):
            module.weight = nn.Parameter(module.weight.detach().contiguous(memory_format=torch.channels_last),
                                         requires_grad=False)
            if (type(module) is nn.Conv2d and module.padding_mode == "zeros" and not isinstance(module.padding, str)
                    and torch.backends.mkldnn.is_available()):
                module.__class__ = OneDNNConv2d
    return twin


def fold_batchnorm(network: nn.Module) -> nn.Module:
    """Fold, in place, every eval-mode BatchNorm that directly follows a convolution."""
    for module in list(network.modules()):
        pairs = next((pairs for kind, pairs in CONV_BN_PAIRS.items() if isinstance(module, kind)), ())
        for conv_name, norm_name in pairs:
            conv, norm = getattr(module, conv_name), getattr(module, norm_name)
            if isinstance(norm, nn.BatchNorm2d):
                _fold(conv, norm)
                setattr(module, norm_name, nn.Identity())
        if isinstance(module, nn.Sequential):      # folded BatchNorms leave the sequence (no call for nothing)
            for index in reversed(range(len(module) - 1)):
                conv, after = module[index], module[index + 1]
                if not isinstance(conv, nn.Conv2d):
                    continue
                if isinstance(after, nn.BatchNorm2d):
                    _fold(conv, after)
                    del module[index + 1]
                elif isinstance(after, nn.Sequential) and len(after) and isinstance(after[0], nn.BatchNorm2d):
                    _fold(conv, after[0])      # OCR's ``Conv2d, Sequential(BatchNorm2d, ReLU)``
                    del after[0]
    return network


def _bn_affine(norm: nn.BatchNorm2d) -> Tuple[Tensor, Tensor]:
    """``(scale, shift)`` of an eval-mode BatchNorm, in float64."""
    scale = _exact(norm.weight) / torch.sqrt(_exact(norm.running_var) + norm.eps)
    return scale, _exact(norm.bias) - _exact(norm.running_mean) * scale


def _exact(tensor: Tensor) -> Tensor:
    """``tensor`` in float64 on the CPU (MPS has no float64), where folded weights are computed."""
    return tensor.detach().cpu().double()


def _fold(conv: nn.Conv2d, norm: nn.BatchNorm2d) -> None:
    scale, shift = _bn_affine(norm)
    bias = _exact(conv.bias) if conv.bias is not None else torch.zeros_like(shift)
    weight = _exact(conv.weight) * scale.view(-1, 1, 1, 1)
    like = dict(device=conv.weight.device, dtype=conv.weight.dtype)
    conv.weight = nn.Parameter(weight.to(**like), requires_grad=False)
    conv.bias = nn.Parameter((bias * scale + shift).to(**like), requires_grad=False)


def _replace(root: nn.Module, old: nn.Module, new: nn.Module) -> None:
    for module in root.modules():
        for name, child in module.named_children():
            if child is old:
                setattr(module, name, new)


class ReorderedSegFormerHead(nn.Module):
    """:class:`SegFormerHead` with each level mapped to the fused width before upsampling.

    ``fused = relu(BN(W_fuse · [up(E4 c4), up(E3 c3), up(E2 c2), E1 c1]))`` becomes
    ``relu(Σ up(A_i c_i) + b)`` with ``A_i = s · W_fuse_i · E_i``: one small matrix per
    level at the level's own resolution, the sum at stride 4.
    """

    def __init__(self, head: SegFormerHead):
        super().__init__()
        embeddings = [head.linear_c4, head.linear_c3, head.linear_c2, head.linear_c1]
        fuse = _exact(head.linear_fuse.conv.weight).flatten(1)       # [E, 4E]
        like = dict(device=head.linear_fuse.conv.weight.device, dtype=head.linear_fuse.conv.weight.dtype)
        scale, shift = _bn_affine(head.linear_fuse.bn)
        width = fuse.shape[0]
        bias = shift.clone()
        self.levels = nn.ParameterList()
        for index, embedding in enumerate(embeddings):
            part = scale[:, None] * fuse[:, index * width:(index + 1) * width]
            self.levels.append(nn.Parameter((part @ _exact(embedding.proj.weight)).to(**like), requires_grad=False))
            bias = bias + part @ _exact(embedding.proj.bias)
        self.bias = nn.Parameter(bias.to(**like), requires_grad=False)
        self.linear_pred = head.linear_pred

    def forward(self, features: Sequence[Tensor]) -> Tuple[Tensor, Tensor]:
        c1, c2, c3, c4 = features
        size = c1.shape[-2:]
        fused = _pixelwise(self.levels[3], c1) + self.bias.view(1, -1, 1, 1)
        for matrix, level in zip(self.levels[:3], (c4, c3, c2)):
            fused = fused + F.interpolate(_pixelwise(matrix, level), size=size, mode="bilinear", align_corners=False)
        fused = F.relu(fused)
        return self.linear_pred(fused), fused


class ReorderedAuxHRNet(HighResolutionNet):
    """:class:`HighResolutionNet` whose auxiliary head maps each branch before upsampling it:
    ``relu(BN(W · [b0, up(b1), up(b2), up(b3)] + c))`` as ``relu(Σ up(A_i b_i) + a)``."""

    def __init__(self, net: HighResolutionNet):
        nn.Module.__init__(self)
        self.config = net.config
        for name, child in net.named_children():
            self.add_module(name, child)
        first, norm = net.aux_head[0], net.aux_head[1]
        scale, shift = _bn_affine(norm)
        weight = scale[:, None] * _exact(first.weight).flatten(1)
        like = dict(device=first.weight.device, dtype=first.weight.dtype)
        widths = [net.config.width * 2 ** i for i in range(4)]
        self.aux_levels = nn.ParameterList(nn.Parameter(part.to(**like), requires_grad=False)
                                           for part in torch.split(weight, widths, dim=1))
        bias = _exact(first.bias) if first.bias is not None else torch.zeros_like(shift)
        self.aux_bias = nn.Parameter((scale * bias + shift).to(**like), requires_grad=False)
        self.aux_pred = net.aux_head[3]

    def auxiliary(self, branches: List[Tensor], feats: Tensor) -> Tensor:
        size = branches[0].shape[-2:]
        mixed = _pixelwise(self.aux_levels[0], branches[0]) + self.aux_bias.view(1, -1, 1, 1)
        for matrix, branch in zip(self.aux_levels[1:], branches[1:]):
            mixed = mixed + F.interpolate(_pixelwise(matrix, branch), size=size, mode="bilinear", align_corners=True)
        return self.aux_pred(F.relu(mixed))


class MergedHeadsRefiner(Refiner):
    """:class:`Refiner` whose detail and boundary heads run as one two-channel convolution."""

    def __init__(self, refiner: Refiner):
        nn.Module.__init__(self)
        for name, child in refiner.named_children():
            if name not in ("refine_pred", "refine_trimap"):
                self.add_module(name, child)
        pred, trimap = refiner.refine_pred, refiner.refine_trimap
        self.heads = nn.utils.skip_init(nn.Conv2d, pred.in_channels, 2, pred.kernel_size, pred.stride, pred.padding,
                                        device=pred.weight.device)     # no initialisation: the global RNG is left alone
        self.heads.weight = nn.Parameter(torch.cat([pred.weight, trimap.weight]).detach(), requires_grad=False)
        self.heads.bias = nn.Parameter(torch.cat([pred.bias, trimap.bias]).detach(), requires_grad=False)

    def forward(self, image: Tensor, clicks: Tensor, feature: Tensor, coarse: Tensor) -> Tuple[Tensor, Tensor]:
        return frozen_call(self, MergedHeadsRefiner.eagerly, image, clicks, feature, coarse)

    def eagerly(self, image: Tensor, clicks: Tensor, feature: Tensor, coarse: Tensor) -> Tuple[Tensor, Tensor]:
        feature = feature.contiguous(memory_format=torch.channels_last)   # RoIAlign's output is NCHW
        heads = self.heads(self.trunk(image, clicks, feature, coarse))
        return self.blend(heads[:, :1], heads[:, 1:], coarse)


class OneDNNConv2d(nn.Conv2d):
    """A convolution that runs oneDNN's kernel for fp32 CPU inputs without autograd or autocast."""

    def forward(self, x: Tensor) -> Tensor:
        if (x.device.type != "cpu" or x.dtype != torch.float32 or self.weight.dtype != torch.float32
                or torch.is_grad_enabled() or torch.is_autocast_enabled("cpu")):
            return super().forward(x)
        return torch.ops.aten.mkldnn_convolution(x, self.weight, self.bias, self.padding, self.stride,
                                                 self.dilation, self.groups)


class InferenceFocalClick(FocalClick):
    """The inference copy's class: :meth:`segment` runs through :func:`frozen_call`."""

    def segment(self, image: Tensor, prev_mask: Tensor, clicks: Tensor) -> Tuple[Tensor, Tensor]:
        return frozen_call(self, FocalClick.segment, image, prev_mask, clicks)

    def refine(self, image: Tensor, clicks: Tensor, feature: Tensor, logits: Tensor,
               box: Tuple[float, float, float, float]) -> Tuple[Tensor, Tensor]:
        """A Focus Crop that is the whole raster, at the raster's size, skips RoIAlign: its samples fall on
        the pixel centres with weights 1 and 0, so it gives the feature and logits back as they are."""
        height, width = logits.shape[-2:]
        stride = width / feature.shape[-1]
        whole = tuple(box) == (0.0, 0.0, float(width), float(height)) and tuple(image.shape[-2:]) == (height, width)
        if whole and (round(height / stride), round(width / stride)) == tuple(feature.shape[-2:]) \
                and height / stride == feature.shape[-2]:
            return self.refiner(image, clicks, feature, logits)
        return super().refine(image, clicks, feature, logits, box)


class _Method(nn.Module):
    """``method(module, *inputs)`` as a module's forward, for tracing."""

    def __init__(self, module: nn.Module, method: Callable):
        super().__init__()
        self.module = module
        self.method = method

    def forward(self, *inputs: Tensor):
        return self.method(self.module, *inputs)


_TRACES_KEPT = 8              # input signatures per module (the presets use one per method)
_TRACING_LOCK = threading.Lock()


def frozen_call(module: nn.Module, method: Callable, *inputs: Tensor):
    """``method(module, *inputs)``; without autograd or autocast, through a frozen TorchScript trace of
    it kept on ``module`` per input signature (shapes, strides, dtypes, device). The trace replays the
    same tensor operations; freezing turns the weights into constants, so ``module`` must not change
    afterwards (:func:`for_inference` builds a new copy when the network does)."""
    device = inputs[0].device.type
    if torch.is_grad_enabled() or torch.is_autocast_enabled(device) or torch.jit.is_tracing():
        return method(module, *inputs)
    key = (method.__qualname__, *((tuple(x.shape), x.stride(), x.dtype, x.device) for x in inputs))
    traces: Dict[tuple, Optional[torch.jit.ScriptModule]] = module.__dict__.setdefault("_frozen_traces", {})
    if key not in traces:
        with _TRACING_LOCK, torch.inference_mode(False), torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore", torch.jit.TracerWarning)
            warnings.simplefilter("ignore", DeprecationWarning)     # torch.compile would need a C++ compiler
            examples = tuple(x.clone() for x in inputs)      # a trace cannot record inference-mode tensors
            try:
                trace = torch.jit.freeze(torch.jit.trace(_Method(module, method).eval(), examples, check_trace=False))
            except RuntimeError:     # a device or operation TorchScript cannot hold: stay eager
                trace = None
            while len(traces) >= _TRACES_KEPT:
                del traces[next(iter(traces))]
            traces[key] = trace
    trace = traces.get(key)
    return method(module, *inputs) if trace is None else trace(*inputs)


def _pixelwise(matrix: Tensor, x: Tensor) -> Tensor:
    """``matrix [out, in]`` applied at every pixel of ``x [B, in, H, W]``, channels-last
    (where bilinear upsampling of many channels is fast)."""
    batch, channels, height, width = x.shape
    pixels = x.permute(0, 2, 3, 1).reshape(batch, height * width, channels)
    return (pixels @ matrix.T).view(batch, height, width, -1).permute(0, 3, 1, 2)
