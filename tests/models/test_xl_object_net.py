import pytest
import torch

from focalxl.models.xl.object_net import ObjectNet
from focalxl.models.xl.prompting import KINDS, Prompting
from xl_tiny import TINY

CONTEXT_DIM = TINY.context.out_chans


def _net(seed: int = 0) -> ObjectNet:
    torch.manual_seed(seed)
    return ObjectNet(TINY.object, CONTEXT_DIM).eval()


def _inputs(height: int = 48, width: int = 64, kinds=("click",), seed: int = 1):
    generator = torch.Generator().manual_seed(seed)
    image = torch.randn(1, 3, height, width, generator=generator)
    bimaps = {kind: (torch.rand(1, 2, height, width, generator=generator) > 0.9).float() for kind in kinds}
    prev = torch.rand(1, 1, height, width, generator=generator)
    context = torch.randn(1, CONTEXT_DIM, 16, 16, generator=generator)
    boxes = torch.tensor([[0.0, 8.0, 8.0, 40.0, 32.0]])   # context cells 2..10 x 2..8 at scale 1/4
    return image, bimaps, prev, context, boxes, 0.25


def test_object_net_gives_logits_over_a_non_square_crop():
    with torch.no_grad():
        logits = _net()(*_inputs(48, 64))
    assert logits.shape == (1, 1, 48, 64)
    assert torch.isfinite(logits).all()


@pytest.mark.parametrize("kind", KINDS)
def test_each_kind_goes_through_its_own_prompting_layer_only(kind):
    net = _net()
    calls = {name: 0 for name in KINDS}
    hooks = [layer.register_forward_hook(lambda *_, name=name: calls.__setitem__(name, calls[name] + 1))
             for name, layer in net.prompting.layers.items()]
    inputs = _inputs(kinds=(kind,))
    with torch.no_grad():
        before = net(*inputs)
        for other in KINDS:
            if other != kind:
                torch.nn.init.normal_(net.prompting.layers[other].proj.weight)
        unchanged = net(*inputs)
        torch.nn.init.normal_(net.prompting.layers[kind].proj.weight)
        changed = net(*inputs)
    for hook in hooks:
        hook.remove()
    assert calls == {name: (3 if name == kind else 0) for name in KINDS}
    assert torch.equal(before, unchanged)
    assert not torch.allclose(before, changed)


def test_prompting_sums_the_embeddings_of_the_kinds_present():
    prompting = Prompting(8).eval()
    _, bimaps, prev, *_ = _inputs(kinds=("click", "box"))
    with torch.no_grad():
        both = prompting(bimaps, prev)
        alone = [prompting({kind: bimap}, prev) for kind, bimap in bimaps.items()]
    torch.testing.assert_close(both, alone[0] + alone[1])
    assert both.shape == (1, 8, 12, 16)


def test_prompting_refuses_unknown_kinds_and_no_interaction():
    prompting = Prompting(8)
    prev = torch.zeros(1, 1, 16, 16)
    with pytest.raises(ValueError, match="lasso"):
        prompting({"lasso": torch.zeros(1, 2, 16, 16)}, prev)
    with pytest.raises(ValueError, match="at least one interaction"):
        prompting({}, prev)


def test_only_the_context_under_the_crop_box_matters():
    net = _net()
    image, bimaps, prev, context, boxes, scale = _inputs()
    far = context.clone()
    far[..., 12:, :] = 100.0     # rows and columns beyond the box (cells 2..10 x 2..8) and RoIAlign's reach
    far[..., :, 12:] = -100.0
    near = context.clone()
    near[..., 4:6, 4:6] += 5.0
    with torch.no_grad():
        reference = net(image, bimaps, prev, context, boxes, scale)
        assert torch.equal(net(image, bimaps, prev, far, boxes, scale), reference)
        assert not torch.allclose(net(image, bimaps, prev, near, boxes, scale), reference)
