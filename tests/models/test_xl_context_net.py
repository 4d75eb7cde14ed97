import numpy as np
import pytest
import torch

from focalxl.models.xl.adapter import Adapter
from focalxl.models.xl.context_net import PIXEL_MEAN, PIXEL_STD, ContextNet, sam_input
from xl_tiny import TINY_CONTEXT, tiny_sam


def _context_net_from(sam) -> ContextNet:
    net = ContextNet(TINY_CONTEXT).eval()
    net.image_encoder.load_state_dict(sam.image_encoder.state_dict(), strict=True)
    return net


def test_a_fresh_adapter_is_the_identity():
    x = torch.randn(2, 5, 7, 12)
    assert torch.equal(Adapter(12, 4)(x), x)


def test_an_adapted_encoder_starts_equal_to_plain_sam():
    sam = tiny_sam()
    net = _context_net_from(sam)
    x = torch.randn(2, 3, TINY_CONTEXT.img_size, TINY_CONTEXT.img_size)
    with torch.no_grad():
        assert torch.equal(net(x), sam.image_encoder(x))


def test_trained_adapters_change_the_features_after_every_block():
    sam = tiny_sam()
    net = _context_net_from(sam)
    x = torch.randn(1, 3, TINY_CONTEXT.img_size, TINY_CONTEXT.img_size)
    with torch.no_grad():
        plain = sam.image_encoder(x)
        for index, adapter in enumerate(net.adapters):
            torch.nn.init.normal_(adapter.up.weight, std=0.1)
            assert not torch.allclose(net(x), plain), f"adapter {index} is not applied"
            torch.nn.init.zeros_(adapter.up.weight)


def test_context_features_have_sams_grid():
    net = ContextNet(TINY_CONTEXT).eval()
    x = torch.randn(1, 3, TINY_CONTEXT.img_size, TINY_CONTEXT.img_size)
    with torch.no_grad():
        features = net(x)
    grid = TINY_CONTEXT.img_size // TINY_CONTEXT.patch_size
    assert features.shape == (1, TINY_CONTEXT.out_chans, grid, grid)


def test_sam_input_resizes_the_longer_side_normalises_and_pads_bottom_right():
    image = np.full((30, 100, 3), (10, 120, 250), dtype=np.uint8)
    x, (height, width) = sam_input(image, 64)
    assert x.shape == (1, 3, 64, 64)
    assert (height, width) == (19, 64)
    expected = (np.float32([10, 120, 250]) - np.float32(PIXEL_MEAN)) / np.float32(PIXEL_STD)
    np.testing.assert_allclose(x[0, :, :height, :width].permute(1, 2, 0).numpy(),
                               np.broadcast_to(expected, (height, width, 3)), rtol=1e-6)
    assert torch.count_nonzero(x[0, :, height:, :]) == 0


@pytest.mark.parametrize("shape", [(64, 64), (10, 300), (300, 10)])
def test_sam_input_keeps_the_aspect_ratio(shape):
    _, (height, width) = sam_input(np.zeros((*shape, 3), dtype=np.uint8), 64)
    scale = 64 / max(shape)
    assert max(height, width) == 64
    assert abs(height - shape[0] * scale) <= 0.5 and abs(width - shape[1] * scale) <= 0.5
