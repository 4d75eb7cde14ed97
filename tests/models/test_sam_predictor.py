"""The ``sam-vit-*`` presets give SamPredictor's masks, through the engine's loop.

Tiny SAM networks with random weights are saved as plain state dicts (the official
checkpoint format) and loaded through the presets' real loading code. The reference is
segment-anything's own ``SamPredictor`` driven the way its example notebook does it:
three masks for a single click (the best-scored kept), then one mask per call with the
previous call's low-resolution logits as the mask prompt.

``SamPredictor`` resizes the image with torchvision (``ResizeLongestSide.apply_image``
calls ``torchvision.transforms.functional.to_pil_image`` and ``resize``). torchvision is
not installed here, so where it is missing this test provides a stand-in module with
those two functions implemented exactly as torchvision implements them for PIL images
(``Image.fromarray``; ``Image.resize`` with bilinear filtering to ``(w, h)``). Only the
test uses it; the presets themselves never import torchvision.
"""
from __future__ import annotations

import importlib
import importlib.util
import os
import sys
import types

import numpy as np
import pytest
import torch
from PIL import Image

import focalxl
from focalxl.bench.latency import photo
from focalxl.models import sam as sam_networks
from focalxl.models.sam_modeling import build_sam
from focalxl.models.sam_postprocess import upscale
from focalxl.predictors.sam import SamPredictor

TINY = sam_networks.SamConfig(encoder_embed_dim=32, encoder_depth=2, encoder_num_heads=2,
                              encoder_global_attn_indexes=(1,), prompt_embed_dim=32, image_size=256,
                              window_size=4, mask_in_chans=16, decoder_mlp_dim=64, decoder_num_heads=2,
                              iou_head_hidden_dim=32)


def _torchvision_stand_in() -> dict:
    """``torchvision.transforms.functional.{to_pil_image, resize}`` for PIL images, as torchvision does them."""
    def to_pil_image(pic, mode=None):
        return Image.fromarray(pic, mode)

    def resize(img, size, interpolation=None, max_size=None, antialias=None):
        height, width = size
        return img.resize((width, height), Image.BILINEAR)

    functional = types.ModuleType("torchvision.transforms.functional")
    functional.to_pil_image, functional.resize = to_pil_image, resize
    transforms = types.ModuleType("torchvision.transforms")
    transforms.functional = functional
    package = types.ModuleType("torchvision")
    package.transforms = transforms
    return {"torchvision": package, "torchvision.transforms": transforms,
            "torchvision.transforms.functional": functional}


@pytest.fixture(scope="module")
def reference_predictor_class():
    """segment-anything's ``SamPredictor`` (with the torchvision stand-in where torchvision is missing)."""
    added = {} if importlib.util.find_spec("torchvision") else _torchvision_stand_in()
    own = ("segment_anything.predictor", "segment_anything.utils.transforms")
    saved = {name: sys.modules.pop(name) for name in own if name in sys.modules}
    sys.modules.update(added)
    try:
        yield importlib.import_module("segment_anything.predictor").SamPredictor
    finally:
        for name in (*added, *own):
            sys.modules.pop(name, None)
        sys.modules.update(saved)


@pytest.fixture(scope="module")
def tiny_checkpoint(tmp_path_factory):
    """A tiny SAM with random weights, saved as a plain state dict like the official files.

    Noise on top of the default initialisation makes every parameter matter (SAM starts
    its position embeddings and relative positions at zero) and gives logits of a
    realistic range, so masks have real edges to disagree on.
    """
    generator = torch.Generator().manual_seed(7)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(7)
        network = sam_networks.build(TINY)
    state = {key: value + 0.3 * torch.randn(value.shape, generator=generator)
             for key, value in network.state_dict().items()}
    path = tmp_path_factory.mktemp("sam") / "sam_tiny.pth"
    torch.save(state, path)
    return path


@pytest.fixture(scope="module")
def image():
    return photo(203, 150)


def _reference(reference_predictor_class, checkpoint, image):
    network = sam_networks.build(TINY)
    network.load_state_dict(torch.load(checkpoint, weights_only=True))
    reference = reference_predictor_class(network)
    reference.set_image(image)
    return reference


def _loop(reference, steps):
    """SamPredictor masks after each step, fed back as its example notebook does."""
    masks, previous = [], None
    for points, labels, box in steps:
        points = None if points is None else np.array(points, dtype=np.float64)
        labels = None if labels is None else np.array(labels)
        box = None if box is None else np.array(box, dtype=np.float64)
        single = points is not None and len(points) == 1 and box is None and previous is None
        out, scores, low_res = reference.predict(point_coords=points, point_labels=labels, box=box,
                                                 mask_input=previous, multimask_output=single)
        best = int(np.argmax(scores)) if single else 0
        masks.append(out[best])
        previous = low_res[best][None]
    return masks


def _session(checkpoint, image):
    return focalxl.Segmenter(SamPredictor("sam-tiny", TINY, checkpoint=checkpoint)).new_session(image)


def test_clicks_give_sam_predictors_masks(reference_predictor_class, tiny_checkpoint, image):
    clicks = [focalxl.Click(101.0, 70.0), focalxl.Click(40.5, 30.25, positive=False), focalxl.Click(150.0, 120.0)]
    session = _session(tiny_checkpoint, image)
    ours = [session.add(click).mask for click in clicks]
    steps = [([(c.x, c.y) for c in clicks[:n]], [int(c.positive) for c in clicks[:n]], None) for n in (1, 2, 3)]
    theirs = _loop(_reference(reference_predictor_class, tiny_checkpoint, image), steps)
    assert any(mask.any() and not mask.all() for mask in theirs)        # a real comparison, not empty masks
    for n, (mine, reference) in enumerate(zip(ours, theirs), start=1):
        assert np.array_equal(mine, reference), f"after {n} clicks: {np.sum(mine != reference)} pixels differ"


def test_a_box_then_clicks_give_sam_predictors_masks(reference_predictor_class, tiny_checkpoint, image):
    box = (30.0, 20.0, 170.0, 130.0)
    session = _session(tiny_checkpoint, image)
    ours = [session.add(focalxl.Box(*box)).mask, session.add(focalxl.Click(90.0, 60.0, positive=False)).mask]
    theirs = _loop(_reference(reference_predictor_class, tiny_checkpoint, image),
                   [(None, None, box), ([(90.0, 60.0)], [0], box)])
    for mine, reference in zip(ours, theirs):
        assert np.array_equal(mine, reference)


def test_undo_returns_to_the_prediction_it_came_from(reference_predictor_class, tiny_checkpoint, image):
    """After an undo, the next click is fed the logits of the mask undo went back to."""
    session = _session(tiny_checkpoint, image)
    session.add(focalxl.Click(101.0, 70.0))
    session.add(focalxl.Click(20.0, 20.0, positive=False))
    session.undo()
    mine = session.add(focalxl.Click(150.0, 120.0)).mask
    theirs = _loop(_reference(reference_predictor_class, tiny_checkpoint, image),
                   [([(101.0, 70.0)], [1], None), ([(101.0, 70.0), (150.0, 120.0)], [1, 1], None)])
    assert np.array_equal(mine, theirs[-1])


def test_the_session_map_is_the_whole_image_prediction_though_clicks_write_only_a_box(tiny_checkpoint, image,
                                                                                     monkeypatch):
    """Each click rewrites only the box where its prediction can differ from the map's; after every
    click and undo the map equals the whole-image probabilities of the prediction it came from, and
    the mask ``postprocess_masks(logits) > 0``. The decoder is scripted: blobs that appear one by one."""
    predictor = SamPredictor("sam-tiny", TINY, checkpoint=tiny_checkpoint)
    ys, xs = np.mgrid[0:64, 0:64]
    blobs = [(20, 30, 8.0), (40, 12, 5.0), (10, 50, 4.0), (20, 30, 11.0)]
    fields = [np.max([r - np.hypot(ys - y, xs - x) for y, x, r in blobs[:n]], axis=0).astype(np.float32)
              for n in range(1, len(blobs) + 1)]
    script = iter(torch.from_numpy(field)[None, None] for field in fields)
    monkeypatch.setattr(predictor, "_decode", lambda *args: next(script))
    boxes = []
    predict_object = predictor.predict_object

    def recording(inputs):
        prediction = predict_object(inputs)
        boxes.append(prediction.box)
        return prediction

    monkeypatch.setattr(predictor, "predict_object", recording)
    session = focalxl.Segmenter(predictor).new_session(image)
    height, width = image.shape[:2]

    def check():
        context = session.context
        low_res = context.recall(session._state)
        logits = low_res[0, 0].numpy()
        expected = context.upsampling.probabilities(logits, context.upsampling.classes(logits), (0, 0, width, height))
        result = session.result()
        assert np.array_equal(result.alpha, expected)
        assert np.array_equal(result.mask, (upscale(low_res, context.input_size, (height, width), 256) > 0)[0, 0])

    for click in (focalxl.Click(120.0, 80.0), focalxl.Click(50.0, 140.0), focalxl.Click(190.0, 40.0),
                  focalxl.Click(120.0, 80.0)):
        session.add(click)
        check()
    assert all((box[2] - box[0]) * (box[3] - box[1]) < width * height for box in boxes[1:])
    session.undo()
    check()
    session.undo()
    check()


def test_the_image_encoder_runs_once_per_image(tiny_checkpoint, image):
    predictor = SamPredictor("sam-tiny", TINY, checkpoint=tiny_checkpoint)
    calls = []
    hook = predictor.model.image_encoder.register_forward_hook(lambda *_: calls.append(1))
    try:
        session = focalxl.Segmenter(predictor).new_session(image)
        for click in (focalxl.Click(101.0, 70.0), focalxl.Click(40.0, 30.0, positive=False), focalxl.Click(9.0, 9.0)):
            session.add(click)
        session.undo()
        session.add(focalxl.Box(10.0, 10.0, 120.0, 100.0))
    finally:
        hook.remove()
    assert len(calls) == 1
    assert session.nbytes > image.nbytes        # the cached embedding is counted in the session's memory


def test_scribbles_and_coarse_masks_run_through_the_loop(tiny_checkpoint, image):
    session = _session(tiny_checkpoint, image)
    rough = np.zeros(image.shape[:2], dtype=bool)
    rough[40:110, 60:150] = True
    first = session.add(focalxl.CoarseMask(rough))
    second = session.add(focalxl.Scribble([(70.0, 50.0), (120.0, 90.0), (140.0, 95.0)], positive=False, width=4))
    for result in (first, second):
        assert result.mask.shape == image.shape[:2] and result.alpha.dtype == np.float32
        assert 0.0 <= result.alpha.min() and result.alpha.max() <= 1.0


def test_correcting_an_existing_mask_keeps_the_rest_of_it(tiny_checkpoint, image):
    existing = np.zeros(image.shape[:2], dtype=bool)
    existing[10:60, 10:60] = True
    existing[90:140, 130:190] = True
    session = focalxl.Segmenter(SamPredictor("sam-tiny", TINY, checkpoint=tiny_checkpoint)).new_session(image, existing)
    result = session.add(focalxl.Click(35.0, 35.0, positive=False))
    assert np.array_equal(result.mask[90:140, 130:190], existing[90:140, 130:190])   # the untouched object survives


@pytest.mark.parametrize("multimask", [True, False])
def test_predict_masks_is_the_mask_decoder_bit_for_bit(tiny_checkpoint, image, multimask):
    predictor = SamPredictor("sam-tiny", TINY, checkpoint=tiny_checkpoint)
    context = predictor.context(image)
    with torch.inference_mode():
        mask = torch.randn(1, 1, 64, 64, generator=torch.Generator().manual_seed(1))
        sparse, dense = predictor.model.prompt_encoder(
            points=(torch.tensor([[[30.0, 40.0], [90.0, 20.0]]]), torch.tensor([[1, 0]])), boxes=None, masks=mask)
        ours = sam_networks.predict_masks(predictor.model.mask_decoder, context.features, predictor.dense_pe,
                                          sparse, dense, multimask)
        theirs = predictor.model.mask_decoder(image_embeddings=context.features, image_pe=predictor.dense_pe,
                                              sparse_prompt_embeddings=sparse, dense_prompt_embeddings=dense,
                                              multimask_output=multimask)
    assert all(torch.equal(a, b) for a, b in zip(ours, theirs))


@pytest.mark.parametrize("with_mask", [True, False])
def test_encode_prompts_is_the_prompt_encoder_bit_for_bit_and_its_dense_embedding_is_token_major(tiny_checkpoint,
                                                                                                  with_mask):
    predictor = SamPredictor("sam-tiny", TINY, checkpoint=tiny_checkpoint)
    points = (torch.tensor([[[30.0, 40.0], [90.0, 20.0]]]), torch.tensor([[1, 0]]))
    mask = torch.randn(1, 1, 64, 64, generator=torch.Generator().manual_seed(2)) if with_mask else None
    with torch.inference_mode():
        ours = sam_networks.encode_prompts(predictor.model.prompt_encoder, points, None, mask)
        theirs = predictor.model.prompt_encoder(points=points, boxes=None, masks=mask)
    assert all(torch.equal(a, b) for a, b in zip(ours, theirs))
    if with_mask:
        assert sam_networks.token_major(ours[1]).data_ptr() == ours[1].data_ptr()     # a view, no copy


def test_the_builder_matches_segment_anythings_official_vit_b():
    ours = sam_networks.build(sam_networks.OFFICIAL["vit_b"]).state_dict()
    official = build_sam.sam_model_registry["vit_b"](checkpoint=None).state_dict()
    assert {k: tuple(v.shape) for k, v in ours.items()} == {k: tuple(v.shape) for k, v in official.items()}


def test_a_logit_of_exactly_zero_stays_background_as_in_sam(tiny_checkpoint, image, monkeypatch):
    """SAM's mask is ``logits > 0``; the engine's is ``sigmoid >= 0.5``, which is 0.5 at tiny negative logits too."""
    predictor = SamPredictor("sam-tiny", TINY, checkpoint=tiny_checkpoint)
    low_res = torch.zeros(1, 1, 64, 64)
    low_res[..., :20] = 1e-9
    low_res[..., 44:] = -1e-9
    monkeypatch.setattr(predictor, "_decode", lambda *args: low_res)
    mask = focalxl.Segmenter(predictor).new_session(image).add(focalxl.Click(5.0, 5.0)).mask
    height, width = image.shape[:2]
    expected = upscale(low_res, sam_networks.preprocess_shape(height, width, 256), (height, width), 256)[0, 0] > 0
    assert mask.any() and not mask.all()
    assert np.array_equal(mask, expected.numpy())


def test_presets_need_weights_or_an_explicit_random_choice():
    with pytest.raises(ValueError, match="focalxl weights download sam-vit-b"):
        focalxl.load("sam-vit-b")
    with pytest.raises(ValueError, match="not both"):
        focalxl.load("sam-vit-h", checkpoint="x.pth", random_weights=True)


@pytest.mark.parametrize("options, field", [({"device": "tpu"}, "device"), ({"threads": 0}, "threads")])
def test_bad_device_or_thread_options_name_the_option(options, field):
    with pytest.raises(ValueError, match=field):
        focalxl.load("sam-vit-l", random_weights=True, **options)


def test_a_checkpoint_of_another_network_is_refused_key_by_key(tiny_checkpoint):
    with pytest.raises(ValueError, match=r"(?s)does not fit Sam.*keys of the wrong shape.*image_encoder"):
        focalxl.load("sam-vit-b", checkpoint=str(tiny_checkpoint))


def test_a_checkpoint_that_is_not_a_state_dict_is_refused(tmp_path):
    path = tmp_path / "wrong.pth"
    torch.save({"model": {"weight": torch.zeros(1)}}, path)
    with pytest.raises(ValueError, match="tensors"):
        SamPredictor("sam-tiny", TINY, checkpoint=path)


def test_sessions_and_loads_share_one_network(tiny_checkpoint):
    first = SamPredictor("sam-tiny", TINY, checkpoint=tiny_checkpoint)
    again = SamPredictor("sam-tiny", TINY, checkpoint=str(tiny_checkpoint))
    assert first.model is again.model


def test_a_checkpoint_replaced_on_disk_loads_anew(tiny_checkpoint, tmp_path):
    path = tmp_path / "replaced.pth"
    path.write_bytes(tiny_checkpoint.read_bytes())
    before = SamPredictor("sam-tiny", TINY, checkpoint=path)
    state = torch.load(tiny_checkpoint, weights_only=True)
    state["mask_decoder.iou_token.weight"] = state["mask_decoder.iou_token.weight"] + 1.0
    stamp = path.stat().st_mtime_ns
    torch.save(state, path)
    os.utime(path, ns=(stamp + 10 ** 9, stamp + 10 ** 9))    # a second later, whatever the file system's clock grain
    after = SamPredictor("sam-tiny", TINY, checkpoint=path)
    assert after.model is not before.model
    assert torch.equal(after.model.mask_decoder.iou_token.weight, state["mask_decoder.iou_token.weight"])


@pytest.mark.parametrize("original", [(1080, 1920), (480, 640), (20, 4000), (4000, 20), (1, 1), (333, 777)])
def test_upscaling_only_the_covered_rows_gives_sams_postprocessed_logits_exactly(original):
    low_res = torch.randn(1, 1, 256, 256)
    input_size = sam_networks.preprocess_shape(*original, 1024)
    sam = types.SimpleNamespace(image_encoder=types.SimpleNamespace(img_size=1024))
    expected = build_sam.Sam.postprocess_masks(sam, low_res, input_size, original)
    assert torch.equal(upscale(low_res, input_size, original, 1024), expected)
