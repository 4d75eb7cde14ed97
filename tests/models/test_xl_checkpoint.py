import dataclasses
import hashlib
import json

import pytest
import torch

from focalxl.models import sam as sam_networks
from focalxl.models.checkpoints import mismatch_report
from focalxl.models.xl import checkpoint as xl_checkpoint
from focalxl.models.xl.config import PRESETS, SAM_FILES, ContextConfig, XLConfig
from focalxl.models.xl.context_net import ContextNet
from focalxl.models.xl.focalclick_xl import build_focalclick_xl
from xl_tiny import TINY, tiny_sam


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    model = build_focalclick_xl(TINY, seed=3)
    path = tmp_path_factory.mktemp("xl") / "tiny-b.pth"
    digest = xl_checkpoint.save_checkpoint(model, "focalclick-xl-b", path)
    return model, path, digest


def _rewrite(path, out, change):
    data = torch.load(path, weights_only=True)
    change(data)
    torch.save(data, out)
    return out


def test_a_checkpoint_round_trips_bit_for_bit(saved):
    model, path, _ = saved
    loaded = xl_checkpoint.load_checkpoint(path, "focalclick-xl-b")
    assert loaded.config == TINY
    original = model.state_dict()
    assert loaded.state_dict().keys() == original.keys()
    assert all(torch.equal(value, original[key]) for key, value in loaded.state_dict().items())


def test_the_checksum_follows_its_documented_canonical_order(saved):
    _, path, digest = saved
    data = torch.load(path, weights_only=True)
    expected = hashlib.sha256(json.dumps({"preset": data["preset"], "config": data["config"]}, sort_keys=True,
                                         separators=(",", ":")).encode())
    for key in sorted(data["state_dict"]):
        tensor = data["state_dict"][key].contiguous()
        expected.update(f"\n{key}|{str(tensor.dtype)[len('torch.'):]}|{','.join(map(str, tensor.shape))}\n".encode())
        expected.update(tensor.numpy().tobytes())
    assert data["sha256"] == digest == expected.hexdigest()
    assert data["format"] == "focalxl.focalclick-xl" and data["version"] == 1


def test_a_changed_weight_fails_the_checksum(saved, tmp_path):
    _, path, _ = saved

    def tamper(data):
        data["state_dict"]["object_net.decode_head.linear_pred.bias"] += 1e-3

    with pytest.raises(ValueError, match="sha256 checksum"):
        xl_checkpoint.load_checkpoint(_rewrite(path, tmp_path / "t.pth", tamper), "focalclick-xl-b")


def test_a_changed_config_fails_the_checksum(saved, tmp_path):
    _, path, _ = saved

    def tamper(data):
        data["config"]["input_size"] = 128

    with pytest.raises(ValueError, match="sha256 checksum"):
        xl_checkpoint.load_checkpoint(_rewrite(path, tmp_path / "t.pth", tamper), "focalclick-xl-b")


def test_a_checkpoint_for_another_preset_is_refused_by_name(saved):
    _, path, _ = saved
    with pytest.raises(ValueError, match="for preset 'focalclick-xl-b', not 'focalclick-xl-h'"):
        xl_checkpoint.load_checkpoint(path, "focalclick-xl-h")


def test_missing_keys_are_listed_even_with_a_valid_checksum(saved, tmp_path):
    _, path, _ = saved

    def drop(data):
        del data["state_dict"]["detail_net.head.1.bias"]
        data["sha256"] = xl_checkpoint.checksum(data["preset"], data["config"], data["state_dict"])

    with pytest.raises(ValueError, match="missing keys: detail_net.head.1.bias"):
        xl_checkpoint.load_checkpoint(_rewrite(path, tmp_path / "t.pth", drop), "focalclick-xl-b")


def test_a_bad_config_field_is_named(saved, tmp_path):
    _, path, _ = saved

    def rename(data):
        data["config"]["object"]["width"] = data["config"]["object"].pop("head_dim")

    with pytest.raises(ValueError, match=r"config.object has unknown fields: width"):
        xl_checkpoint.load_checkpoint(_rewrite(path, tmp_path / "t.pth", rename), "focalclick-xl-b")


def test_an_official_sam_file_given_as_an_xl_checkpoint_gets_a_hint(tmp_path):
    path = tmp_path / "sam.pth"
    torch.save(tiny_sam().state_dict(), path)
    with pytest.raises(ValueError, match="looks like an official SAM checkpoint.*init_from_sam"):
        xl_checkpoint.load_checkpoint(path, "focalclick-xl-b")


def test_init_from_sam_starts_the_context_net_exactly_at_sams_encoder(tmp_path):
    sam = tiny_sam(seed=5)
    sam_path, out = tmp_path / "sam_vit_tiny.pth", tmp_path / "xl.pth"
    torch.save(sam.state_dict(), sam_path)
    digest = xl_checkpoint.init_from_sam(sam_path, "focalclick-xl-h", out, config=TINY)
    model = xl_checkpoint.load_checkpoint(out, "focalclick-xl-h")
    assert torch.load(out, weights_only=True)["sha256"] == digest
    x = torch.randn(1, 3, TINY.context.img_size, TINY.context.img_size)
    with torch.no_grad():
        assert torch.equal(model.context_net(x), sam.image_encoder(x))


def test_init_from_sam_refuses_an_encoder_of_another_size(tmp_path):
    wider = dataclasses.replace(TINY.context, embed_dim=48)
    sam_path = tmp_path / "sam_other.pth"
    torch.save(tiny_sam(wider).state_dict(), sam_path)
    with pytest.raises(ValueError, match=r"(?s)sam_vit_b_01ec64.pth for focalclick-xl-b.*wrong shape"):
        xl_checkpoint.init_from_sam(sam_path, "focalclick-xl-b", tmp_path / "xl.pth", config=TINY)


def test_init_from_sam_refuses_a_file_without_an_image_encoder(tmp_path):
    path = tmp_path / "other.pth"
    torch.save({"weight": torch.zeros(2)}, path)
    with pytest.raises(ValueError, match="no image_encoder"):
        xl_checkpoint.init_from_sam(path, "focalclick-xl-b", tmp_path / "xl.pth", config=TINY)


def test_preset_configs_round_trip_through_plain_dicts():
    for config in PRESETS.values():
        assert XLConfig.from_dict(config.to_dict()) == config
    with pytest.raises(ValueError, match="config.context.depth must be an integer"):
        data = PRESETS["focalclick-xl-b"].to_dict()
        data["context"]["depth"] = "12"
        XLConfig.from_dict(data)
    assert isinstance(ContextConfig().global_attn_indexes, tuple)


@pytest.mark.parametrize("preset, variant", [("focalclick-xl-b", "vit_b"), ("focalclick-xl-h", "vit_h")])
def test_full_size_presets_take_the_official_sam_encoders_key_for_key(preset, variant):
    with torch.device("meta"):
        context_net = ContextNet(PRESETS[preset].context)
        sam = sam_networks.build(sam_networks.OFFICIAL[variant])
    assert mismatch_report(context_net.image_encoder, sam.image_encoder.state_dict()) == []
    assert SAM_FILES[preset].startswith(f"sam_{variant}_")


def test_weights_init_xl_refuses_a_file_that_is_not_sam_and_names_it(tmp_path, capsys):
    from focalxl.cli import main

    path = tmp_path / "not-sam.pth"
    torch.save({"weight": torch.zeros(1)}, path)
    assert main(["weights", "init-xl", "focalclick-xl-b", str(path), "--out", str(tmp_path / "xl.pth")]) == 2
    assert "SAM_CHECKPOINT" in capsys.readouterr().err
    assert not (tmp_path / "xl.pth").exists()


@pytest.mark.slow
def test_weights_init_xl_turns_an_official_sam_vit_b_file_into_a_loadable_xl_checkpoint(tmp_path, capsys):
    import focalxl
    from focalxl.cli import main

    sam_file = tmp_path / "sam_vit_b_01ec64.pth"
    torch.save(sam_networks.build(sam_networks.OFFICIAL["vit_b"]).state_dict(), sam_file)
    out = tmp_path / "focalclick-xl-b-init.pth"
    assert main(["weights", "init-xl", "focalclick-xl-b", str(sam_file), "--out", str(out)]) == 0
    assert torch.load(out, weights_only=True)["sha256"] in capsys.readouterr().out
    assert focalxl.load("focalclick-xl-b", checkpoint=str(out), device="cpu").predictor.name == "focalclick-xl-b"
