import numpy as np
import pytest
import torch

import focalxl
from focalxl import Box, Click, CoarseMask, Scribble
from focalxl.bimap import BiMap
from focalxl.crops import zoom
from focalxl.models.xl import checkpoint as xl_checkpoint
from focalxl.models.xl.focalclick_xl import build_focalclick_xl
from focalxl.predictors.base import DetailInput
from focalxl.predictors.focalclick_xl import FocalClickXLPredictor
from focalxl.predictors.sam import SamPredictor
from xl_tiny import TINY, sam_config, tiny_sam


def _image(height: int = 90, width: int = 120, seed: int = 0) -> np.ndarray:
    return (np.random.default_rng(seed).random((height, width, 3)) * 255).astype(np.uint8)


@pytest.fixture
def segmenter():
    return focalxl.load("focalclick-xl-b", random_weights=True, model_config=TINY)


@pytest.fixture
def context_runs(segmenter):
    """How many times the Context-Net has run since the test started."""
    runs = []
    hook = segmenter.predictor.model.context_net.register_forward_hook(lambda *_: runs.append(1))
    yield runs
    hook.remove()


def _interactions(shape):
    height, width = shape
    coarse = np.zeros(shape, dtype=bool)
    coarse[20:60, 30:90] = True
    return [Click(60.0, 45.0, positive=True), Box(20.0, 15.0, 100.0, 70.0),
            Scribble([(25.0, 20.0), (50.0, 30.0)], positive=False, width=4), CoarseMask(coarse),
            Click(10.0, 80.0, positive=False)]


def test_both_presets_are_registered():
    assert {"focalclick-xl-b", "focalclick-xl-h"} <= set(focalxl.presets())


def test_a_session_runs_clicks_boxes_scribbles_and_coarse_masks(segmenter):
    image = _image()
    session = segmenter.new_session(image)
    for interaction in _interactions(image.shape[:2]):
        result = session.add(interaction)
        assert result.mask.shape == result.alpha.shape == image.shape[:2]
        assert result.alpha.dtype == np.float32 and 0.0 <= result.alpha.min() <= result.alpha.max() <= 1.0
        assert np.array_equal(result.mask, result.alpha >= 0.5)
    before = session.result()
    session.add(Click(100.0, 10.0, positive=True))
    assert np.array_equal(session.undo().alpha, before.alpha)


def test_the_context_net_runs_once_per_session(segmenter, context_runs):
    image = _image()
    session = segmenter.new_session(image)
    for interaction in _interactions(image.shape[:2]):
        session.add(interaction)
    session.undo()
    session.add(Click(40.0, 40.0, positive=True))
    assert len(context_runs) == 1
    segmenter.new_session(_image(seed=1)).add(Click(10.0, 10.0, positive=True))
    assert len(context_runs) == 2


def test_the_session_accounts_for_the_cached_context(segmenter):
    session = segmenter.new_session(_image())
    empty = session.nbytes
    session.add(Click(60.0, 45.0, positive=True))
    grid = TINY.context.img_size // TINY.context.patch_size
    assert session.nbytes - empty >= TINY.context.out_chans * grid * grid * 4


def test_the_detail_net_runs_once_on_a_batch_of_focus_patches(segmenter):
    predictor = segmenter.predictor
    crop = zoom((0, 0, 160, 120), TINY.detail_size)            # a 96 x 72 raster: several 64 px patches
    coarse = np.zeros((crop.height, crop.width), dtype=np.float32)
    coarse[10:60, 10:85] = 0.97                                 # its boundary reaches every patch
    image = _image(crop.height, crop.width)
    batches = []
    hook = predictor.model.detail_net.register_forward_hook(lambda _, args, __: batches.append(args[0].shape[0]))
    try:
        alpha = predictor.refine(DetailInput(crop=crop, image=image, bimaps={"click": BiMap(crop, 3.0)},
                                             coarse_prob=coarse, prev_prob=np.zeros_like(coarse), context=None))
    finally:
        hook.remove()
    assert batches == [4]
    assert alpha.shape == coarse.shape and alpha.dtype == np.float32
    assert alpha[35, 45] == coarse[35, 45] and alpha[68, 2] == 0.0    # confident pixels keep the coarse values
    assert not np.array_equal(alpha[8:12, 10:85], coarse[8:12, 10:85])


def test_a_confident_focus_crop_skips_the_detail_net(segmenter):
    crop = zoom((0, 0, 40, 40), TINY.detail_size)
    coarse = np.zeros((crop.height, crop.width), dtype=np.float32)
    alpha = segmenter.predictor.refine(DetailInput(crop=crop, image=_image(crop.height, crop.width), bimaps={},
                                                   coarse_prob=coarse, prev_prob=coarse, context=None))
    assert np.array_equal(alpha, coarse)


def test_a_checkpoint_loads_through_focalxl_load_once_per_process(tmp_path):
    path = tmp_path / "xl-h.pth"
    xl_checkpoint.save_checkpoint(build_focalclick_xl(TINY, seed=7), "focalclick-xl-h", path)
    first = focalxl.load("focalclick-xl-h", checkpoint=str(path), device="cpu")
    second = focalxl.load("focalclick-xl-h", checkpoint=str(path))
    assert isinstance(first.predictor, FocalClickXLPredictor)
    assert first.predictor.model is second.predictor.model
    assert first.predictor.input_size == TINY.input_size and first.predictor.click_radius == TINY.click_radius
    result = first.new_session(_image()).add(Click(50.0, 40.0, positive=True))
    assert result.mask.shape == (90, 120)
    with pytest.raises(ValueError, match="for preset 'focalclick-xl-h', not 'focalclick-xl-b'"):
        focalxl.load("focalclick-xl-b", checkpoint=str(path))


def test_without_weights_the_error_says_how_to_make_them():
    with pytest.raises(ValueError, match="no official weights.*sam_vit_h_4b8939.pth.*focalxl weights init-xl focalclick-xl-h"):
        focalxl.load("focalclick-xl-h")


def test_a_checkpoint_and_random_weights_together_are_refused(tmp_path):
    with pytest.raises(ValueError, match="either a checkpoint or random_weights"):
        focalxl.load("focalclick-xl-b", checkpoint=str(tmp_path / "x.pth"), random_weights=True)
    with pytest.raises(ValueError, match="does not exist"):
        focalxl.load("focalclick-xl-b", checkpoint=str(tmp_path / "missing.pth"))


def test_random_weights_do_not_disturb_the_global_rng():
    torch.manual_seed(11)
    expected = torch.rand(3)
    torch.manual_seed(11)
    build_focalclick_xl(TINY, seed=0)
    assert torch.equal(torch.rand(3), expected)


@pytest.mark.slow
def test_full_size_xl_b_with_random_weights_runs_the_loop():
    segmenter = focalxl.load("focalclick-xl-b", random_weights=True)
    runs = []
    hook = segmenter.predictor.model.context_net.register_forward_hook(lambda *_: runs.append(1))
    try:
        session = segmenter.new_session(_image(200, 300))
        for interaction in _interactions((200, 300)):
            assert session.add(interaction).alpha.shape == (200, 300)
    finally:
        hook.remove()
    assert runs == [1]


def test_an_xl_checkpoint_made_from_sam_sees_the_image_exactly_as_sam_does(tmp_path):
    sam_path, xl_path = tmp_path / "sam_tiny.pth", tmp_path / "xl.pth"
    torch.save(tiny_sam(seed=2).state_dict(), sam_path)
    xl_checkpoint.init_from_sam(sam_path, "focalclick-xl-b", xl_path, config=TINY)
    xl = focalxl.load("focalclick-xl-b", checkpoint=str(xl_path)).predictor
    sam = SamPredictor("sam-tiny", sam_config(), checkpoint=str(sam_path))
    image = _image(50, 80)
    assert torch.equal(xl.context(image).features, sam.context(image).features)


def test_a_sliver_of_an_image_still_goes_through_the_object_net(segmenter):
    image = _image(6, 400)
    result = segmenter.new_session(image).add(Click(200.0, 3.0, positive=True))
    assert result.alpha.shape == (6, 400)
