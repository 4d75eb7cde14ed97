import torch

from focalxl.models.sam_modeling import build_sam, modeling


def test_sam_network_parts_import_without_torchvision():
    assert modeling.ImageEncoderViT.__module__ == "segment_anything.modeling.image_encoder"
    assert set(build_sam.sam_model_registry) >= {"vit_b", "vit_l", "vit_h"}


def test_a_tiny_sam_image_encoder_runs():
    encoder = modeling.ImageEncoderViT(img_size=64, patch_size=16, embed_dim=32, depth=2, num_heads=2,
                                       out_chans=16, window_size=2, global_attn_indexes=(1,))
    with torch.inference_mode():
        features = encoder(torch.zeros(1, 3, 64, 64))
    assert features.shape == (1, 16, 4, 4)
