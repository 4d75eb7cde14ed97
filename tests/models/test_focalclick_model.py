"""FocalClick's network parts against the published code's outputs, and isegm configs."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from focalclick_reference_flow import ReferenceFlow
from focalxl.models.checkpoints import load_strict, read_checkpoint
from focalxl.models.focalclick import Architecture, architecture_from_config, build
from focalclick_published import REFERENCE, needs_reference


@pytest.fixture(scope="module")
def published():
    stored = read_checkpoint(REFERENCE + ".pth")
    net = build(architecture_from_config(stored["config"]))
    return load_strict(net, stored["state_dict"], "reference")


@needs_reference
def test_published_flow_around_our_network_reproduces_the_published_probabilities(published):
    reference = np.load(REFERENCE + ".npz")
    flow = ReferenceFlow(published, reference["image"])
    clicks = []
    for (y, x, positive), expected in zip(reference["clicks"], reference["probs"]):
        clicks.append((int(y), int(x), bool(positive)))
        probs = flow.add(clicks)
        np.testing.assert_allclose(probs, expected, atol=1e-5)


@needs_reference
def test_reference_config_reads_as_segformer_b0_s1():
    arch = architecture_from_config(read_checkpoint(REFERENCE + ".pth")["config"])
    assert (arch.family, arch.model_version, arch.pipeline, arch.use_leaky_relu) == ("segformer", "b0", "s1", True)
    assert arch.click_radius == 3.0


@needs_reference
def test_boundary_map_decides_between_detail_and_coarse_logits(published):
    """Eq. 1 in logit space: a closed boundary gate keeps the coarse logits, an open one the detail map."""
    torch.manual_seed(0)
    image, prev, clicks = torch.rand(1, 3, 256, 256), torch.rand(1, 1, 256, 256), torch.zeros(1, 2, 256, 256)
    box = (0.0, 0.0, 256.0, 256.0)
    trimap = published.refiner.refine_trimap
    saved = trimap.bias.detach().clone()
    try:
        with torch.no_grad():
            logits, feature = published.segment(image, prev, clicks)
            trimap.bias.fill_(-200.0)
            kept, _ = published.refine(image, clicks, feature, logits, box)
            trimap.bias.fill_(200.0)
            replaced, boundary = published.refine(image, clicks, feature, logits, box)
    finally:
        with torch.no_grad():
            trimap.bias.copy_(saved)
    torch.testing.assert_close(kept, logits, atol=1e-4, rtol=1e-4)   # the RoI of the whole crop is the crop
    assert (boundary > 100).all() and not torch.allclose(replaced, logits, atol=1e-2)


@needs_reference
def test_half_resolution_pipeline_gives_a_feature_at_stride_8_of_its_input(published):
    with torch.no_grad():
        logits, feature = published.segment(torch.rand(1, 3, 144, 256), torch.zeros(1, 1, 144, 256),
                                            torch.zeros(1, 2, 144, 256))
    assert logits.shape == (1, 1, 144, 256) and feature.shape == (1, 256, 18, 32)


def _config(cls: str, **params):
    return {"class": cls, "params": {k: {"type": "builtin", "value": v, "specified": True} for k, v in params.items()}}


HRNET = "isegm.model.is_hrnet_model.HRNetModel"
SEGFORMER = "isegm.model.is_segformer_model.SegFormerModel"


def test_hrnet_config_gives_width_ocr_width_small_and_its_disk_radius():
    arch = architecture_from_config(_config(HRNET, width=18, ocr_width=48, small=True, pipeline_version="s1"))
    assert arch == Architecture("hrnet", "s1", width=18, ocr_width=48, small=True, use_leaky_relu=False)
    assert arch.click_radius == 2.0


@pytest.mark.parametrize("config,words", [
    (_config("isegm.model.is_deeplab_model.DeeplabModel"), "DeeplabModel"),
    (_config(SEGFORMER, model_version="b7"), "model_version"),
    (_config(SEGFORMER, pipeline_version="s3"), "pipeline_version"),
    (_config(SEGFORMER, with_prev_mask=False), "with_prev_mask"),
    (_config(SEGFORMER, clicks_groups=[1, 2]), "clicks_groups"),
    (_config(HRNET, width=0), "width"),
    ({"params": {}}, "'class'"),
    ([_config(SEGFORMER)], "'class'"),
])
def test_configs_that_are_not_focalclick_are_refused_naming_the_field(config, words):
    with pytest.raises(ValueError, match=words):
        architecture_from_config(config)
