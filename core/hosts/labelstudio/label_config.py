"""What the project's label config says the backend answers with: its brush control."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Tuple

from label_studio_sdk.label_interface import LabelInterface

BRUSH_TAGS = ("BrushLabels", "Brush")


@dataclass(frozen=True)
class BrushControl:
    """A brush control and the image it draws on."""

    from_name: str
    to_name: str
    labels: Tuple[str, ...]
    data_key: str            # the task data field holding the image URL ($image -> "image")

    def label_for(self, label: Optional[str]) -> Optional[str]:
        """``label`` when this control has it, else its first label (``None`` for a plain Brush)."""
        if label in self.labels:
            return label
        return self.labels[0] if self.labels else None


def brush_control(config: object, to_name: Optional[str] = None, label: Optional[str] = None) -> BrushControl:
    """The first brush control drawing on ``to_name`` that has ``label`` (or any brush control)."""
    if not isinstance(config, str) or not config.strip():
        raise ValueError("label_config must be the project's label config XML")
    try:
        interface = LabelInterface(config)
    except Exception as error:  # the SDK raises its own XML and schema errors
        raise ValueError(f"label_config cannot be parsed: {error}") from None
    images = {obj.name: obj for obj in interface.objects if obj.tag == "Image"}
    brushes = [c for c in interface.controls if c.tag in BRUSH_TAGS and c.to_name and c.to_name[0] in images]
    if not brushes:
        raise ValueError("label_config has no BrushLabels control on an Image: the backend answers with brush masks")
    on_image = [c for c in brushes if to_name is None or c.to_name[0] == to_name] or brushes
    labelled = [c for c in on_image if label in (getattr(c, "labels", None) or [])] or on_image
    control = labelled[0]
    image = images[control.to_name[0]]
    return BrushControl(from_name=control.name, to_name=image.name, labels=tuple(getattr(control, "labels", None) or ()),
                        data_key=image.value.lstrip("$"))
