"""What a FocalClick-XL model looks like: the sizes of its three subnets and its rasters.

A config is stored inside every XL checkpoint, so a checkpoint rebuilds exactly the
network it was saved from. ``PRESETS`` holds the two full-size configurations.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Dict, Mapping, Tuple


@dataclass(frozen=True)
class ContextConfig:
    """SAM's ViT image encoder (``ImageEncoderViT``) plus one adapter per block."""

    img_size: int = 1024
    patch_size: int = 16
    embed_dim: int = 768
    depth: int = 12
    num_heads: int = 12
    global_attn_indexes: Tuple[int, ...] = (2, 5, 8, 11)
    window_size: int = 14
    out_chans: int = 256
    adapter_dim: int = 48


@dataclass(frozen=True)
class ObjectConfig:
    """SegFormer's Mix Transformer and MLP head, fed by the prompting layers."""

    embed_dims: Tuple[int, ...] = (32, 64, 160, 256)
    depths: Tuple[int, ...] = (2, 2, 2, 2)
    num_heads: Tuple[int, ...] = (1, 2, 5, 8)
    sr_ratios: Tuple[int, ...] = (8, 4, 2, 1)
    mlp_ratio: int = 4
    head_dim: int = 256


@dataclass(frozen=True)
class DetailConfig:
    """The MobileNetV2 U-Net: encoder width and the decoder's channels, deepest first."""

    width_mult: float = 1.0
    decoder_dims: Tuple[int, ...] = (96, 32, 24, 16)
    output_dim: int = 16


@dataclass(frozen=True)
class XLConfig:
    """The three subnets and the rasters they work on (sizes in pixels)."""

    context: ContextConfig = field(default_factory=ContextConfig)
    object: ObjectConfig = field(default_factory=ObjectConfig)
    detail: DetailConfig = field(default_factory=DetailConfig)
    input_size: int = 256      # Object-Net input, the zoomed Target Crop's longer side
    click_radius: float = 5.0  # click disks, in Object-Net input pixels
    detail_size: int = 448     # the zoomed Focus Crop's longer side
    patch_size: int = 256      # Detail-Net patch side; several patches tile the Focus Crop
    trimap_band: int = 8       # half-width of the unknown band around the coarse boundary, detail pixels

    def to_dict(self) -> Dict[str, Any]:
        """Plain ``dict``/``list``/number values, as stored in a checkpoint."""
        return _plain(dataclasses.asdict(self))

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "XLConfig":
        """The config ``to_dict`` wrote; a missing, unknown or mistyped field raises ``ValueError`` naming it."""
        return _build(cls, data, "config")


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    return value


def _build(kind: type, data: Any, where: str) -> Any:
    """``kind(**data)``, nested configs included, checking every field against its default's type."""
    if not isinstance(data, Mapping):
        raise ValueError(f"{where} must be a mapping, got {type(data).__name__}")
    specs = {spec.name: spec for spec in dataclasses.fields(kind)}
    unknown, missing = sorted(set(data) - set(specs)), sorted(set(specs) - set(data))
    if unknown:
        raise ValueError(f"{where} has unknown fields: {', '.join(map(str, unknown))}")
    if missing:
        raise ValueError(f"{where} lacks fields: {', '.join(missing)}")
    return kind(**{name: _value(spec, data[name], f"{where}.{name}") for name, spec in specs.items()})


def _value(spec: dataclasses.Field, value: Any, where: str) -> Any:
    if spec.default_factory is not dataclasses.MISSING:
        return _build(spec.default_factory, value, where)
    if isinstance(spec.default, tuple):
        if not isinstance(value, (list, tuple)) or not all(isinstance(v, int) and not isinstance(v, bool) for v in value):
            raise ValueError(f"{where} must be a list of integers, got {value!r}")
        return tuple(value)
    if isinstance(spec.default, float) and isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if isinstance(spec.default, int) and isinstance(value, int) and not isinstance(value, bool):
        return value
    raise ValueError(f"{where} must be {'a number' if isinstance(spec.default, float) else 'an integer'}, got {value!r}")


PRESETS: Dict[str, XLConfig] = {
    "focalclick-xl-b": XLConfig(),
    "focalclick-xl-h": XLConfig(
        context=ContextConfig(embed_dim=1280, depth=32, num_heads=16, global_attn_indexes=(7, 15, 23, 31),
                              adapter_dim=80),
        object=ObjectConfig(embed_dims=(64, 128, 320, 512), depths=(3, 4, 18, 3), head_dim=512),
    ),
}
"""Context-Net: SAM ViT-B / ViT-H encoders. Object-Net: MiT-B0 (XL-B) / MiT-B3 (XL-H),
the sizes FocalClick ships. Detail-Net: a full-width MobileNetV2 U-Net for both."""

SAM_FILES: Dict[str, str] = {"focalclick-xl-b": "sam_vit_b_01ec64.pth", "focalclick-xl-h": "sam_vit_h_4b8939.pth"}
"""The official SAM checkpoint each preset's Context-Net starts from."""
