"""Records what sam2's own ``SAM2ImagePredictor`` gives, for ``test_sam2_predictor.py`` to compare with.

``SAM2ImagePredictor`` needs torchvision (its image transforms) and Hydra (``build_sam2``
reads the YAML configs), which the project's environment does not have. So this script
runs in two environments:

* here (the project's ``.venv``): it writes, for each case, random weights built with the
  presets' own builder and saved in the official format (``{"model": state_dict}``), and
  the test photo;
* in a reference environment with PyPI's regular ``torch==2.13.0``, ``torchvision==0.28.0``
  and the same ``sam2==1.1.0`` with all its requirements (Hydra, iopath)::

      python3 -m venv .venv-reference && .venv-reference/bin/pip install torch==2.13.0 torchvision==0.28.0
      .venv-reference/bin/pip install setuptools
      SAM2_BUILD_CUDA=0 .venv-reference/bin/pip install --no-build-isolation sam2==1.1.0

  it builds each network from sam2's own YAML config with ``build_sam2`` (the official
  ``configs/sam2.1/sam2.1_hiera_t.yaml``, and for the small test network the same file
  with Hydra overrides), loads the weights with sam2's own loader, and drives
  ``SAM2ImagePredictor`` through each flow the way its example notebook does: a lone
  click asks for three masks and keeps the best-scored one; every later call asks for
  one mask and feeds back the previous call's low-resolution logits; an undo returns to
  the previous call's logits. It also lists every official network's parameter names
  and shapes.

Run from the repository root::

    .venv/bin/python tests/models/sam2_reference.py --reference-python .venv-reference/bin/python

It writes ``tests/models/data/sam2_reference.npz``. The weights are not stored: the test
rebuilds them from the seed and checks their digest against the recorded one first.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

OUT = Path(__file__).parent / "data" / "sam2_reference.npz"
IMAGE_SIZE = (160, 120)          # width, height of the test photo
SEED = 7
NOISE = 0.1                      # weight noise over the default initialisation, so every parameter matters
SAMPLE_STEP = 4                  # full-resolution logits are recorded on every 4th row and column
LOW_RES_STEP = 8                 # low-resolution logits on every 8th

# A small network of the SAM 2.1 design (sizes only; image size 1024 as SAM2ImagePredictor
# requires), and the Hydra overrides that give it from the official tiny config.
TEST_NETWORK = {"embed_dim": 16, "num_heads": 1, "stages": [1, 1, 2, 1], "global_att_blocks": [3],
                "window_pos_embed_bkg_spatial_size": [7, 7], "d_model": 32, "memory_dim": 16,
                "memory_attention_layers": 1, "memory_attention_ff": 64}


def test_network_overrides(n: dict) -> list:
    trunk, neck, attention, memory = ("model.image_encoder.trunk", "model.image_encoder.neck",
                                      "model.memory_attention", "model.memory_encoder")
    widths = [n["embed_dim"] * 2 ** level for level in (3, 2, 1, 0)]
    values = {
        f"{trunk}.embed_dim": n["embed_dim"], f"{trunk}.num_heads": n["num_heads"], f"{trunk}.stages": n["stages"],
        f"{trunk}.global_att_blocks": n["global_att_blocks"],
        f"{trunk}.window_pos_embed_bkg_spatial_size": n["window_pos_embed_bkg_spatial_size"],
        f"{neck}.d_model": n["d_model"], f"{neck}.position_encoding.num_pos_feats": n["d_model"],
        f"{neck}.backbone_channel_list": widths,
        f"{attention}.d_model": n["d_model"], f"{attention}.num_layers": n["memory_attention_layers"],
        f"{attention}.layer.d_model": n["d_model"], f"{attention}.layer.dim_feedforward": n["memory_attention_ff"],
        f"{attention}.layer.self_attention.embedding_dim": n["d_model"],
        f"{attention}.layer.cross_attention.embedding_dim": n["d_model"],
        f"{attention}.layer.cross_attention.kv_in_dim": n["memory_dim"],
        f"{memory}.out_dim": n["memory_dim"], f"{memory}.position_encoding.num_pos_feats": n["memory_dim"],
        f"{memory}.in_dim": n["d_model"], f"{memory}.mask_downsampler.embed_dim": n["d_model"],
        f"{memory}.fuser.layer.dim": n["d_model"],
    }
    return [f"++{key}={json.dumps(value, separators=(',', ':'))}" for key, value in values.items()]


# case name -> (official config file, whether it is the small test network)
CASES = {"test": ("configs/sam2.1/sam2.1_hiera_t.yaml", True), "tiny": ("configs/sam2.1/sam2.1_hiera_t.yaml", False)}
OFFICIAL_CONFIGS = {"tiny": "configs/sam2.1/sam2.1_hiera_t.yaml", "small": "configs/sam2.1/sam2.1_hiera_s.yaml",
                    "base_plus": "configs/sam2.1/sam2.1_hiera_b+.yaml", "large": "configs/sam2.1/sam2.1_hiera_l.yaml"}

# Interaction flows in image pixels: ("click", x, y, positive), ("box", x0, y0, x1, y1), ("undo",).
FLOWS = {
    "clicks": [("click", 81.0, 62.0, True), ("click", 30.5, 20.25, False), ("click", 120.0, 95.0, True)],
    "box_then_clicks": [("box", 25.0, 18.0, 140.0, 105.0), ("click", 70.0, 50.0, False),
                        ("click", 100.0, 80.0, True)],
    "undo": [("click", 81.0, 62.0, True), ("click", 15.0, 15.0, False), ("undo",), ("click", 120.0, 95.0, True)],
}


# ---- the project's side -------------------------------------------------------------------

def network_config(case: str):
    from focalxl.models import sam2 as sam2_networks

    if CASES[case][1]:
        n = TEST_NETWORK
        return sam2_networks.Sam2Config(
            embed_dim=n["embed_dim"], num_heads=n["num_heads"], stages=tuple(n["stages"]),
            global_att_blocks=tuple(n["global_att_blocks"]),
            window_pos_embed_bkg_spatial_size=tuple(n["window_pos_embed_bkg_spatial_size"]), d_model=n["d_model"],
            memory_dim=n["memory_dim"], memory_attention_layers=n["memory_attention_layers"],
            memory_attention_ff=n["memory_attention_ff"])
    return sam2_networks.OFFICIAL["tiny"]


def random_state(case: str) -> dict:
    """Seeded random weights for ``case``: the default initialisation plus noise."""
    import torch
    from focalxl.models import sam2 as sam2_networks

    generator = torch.Generator().manual_seed(SEED)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(SEED)
        network = sam2_networks.build(network_config(case))
    return {key: value + NOISE * torch.randn(value.shape, generator=generator) if value.is_floating_point() else value
            for key, value in network.state_dict().items()}


def state_digest(state: dict) -> str:
    digest = hashlib.sha256()
    for key in sorted(state):
        tensor = state[key].contiguous()
        digest.update(f"{key}|{tensor.dtype}|{tuple(tensor.shape)}\n".encode())
        digest.update(tensor.numpy().tobytes())
    return digest.hexdigest()


def test_photo() -> np.ndarray:
    from focalxl.bench.latency import photo

    return photo(*IMAGE_SIZE)


def record(reference_python: str) -> None:
    import torch

    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        image = test_photo()
        np.save(folder / "image.npy", image)
        digests = {}
        for case in CASES:
            state = random_state(case)
            digests[case] = state_digest(state)
            torch.save({"model": state}, folder / f"{case}.pt")
        subprocess.run([reference_python, __file__, "--reference-side", str(folder)], check=True)
        recorded = dict(np.load(folder / "reference.npz"))
    recorded["image"] = image
    for case, digest in digests.items():
        recorded[f"{case}/weights_sha256"] = np.array(digest)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(OUT, **recorded)
    print(f"wrote {OUT} ({OUT.stat().st_size} bytes)")


# ---- the reference side (SAM2ImagePredictor; runs without focalxl) ---------------------------

def reference_flow(predictor, flow) -> list:
    """Each prediction of ``flow`` as the example notebook makes it: (mask, scores, low-res logits, full logits)."""
    stack, results = [], []
    for action in flow:
        if action[0] == "undo":
            stack.pop()
            continue
        points, labels, box, previous = stack[-1] if stack else ([], [], None, None)
        points, labels = list(points), list(labels)
        if action[0] == "click":
            points.append(action[1:3])
            labels.append(int(action[3]))
        else:
            box = np.array(action[1:5], dtype=np.float64)
        single = len(points) == 1 and box is None and previous is None
        logits, scores, low_res = predictor.predict(
            point_coords=np.array(points, dtype=np.float64) if points else None,
            point_labels=np.array(labels) if labels else None, box=box,
            mask_input=None if previous is None else previous[None], multimask_output=single, return_logits=True)
        best = int(np.argmax(scores)) if single else 0
        stack.append((points, labels, box, low_res[best]))
        results.append((logits[best] > predictor.mask_threshold, scores, low_res[best], logits[best]))
    return results


def reference_side(folder: Path) -> None:
    import torch
    from sam2.build_sam import build_sam2
    from sam2.sam2_image_predictor import SAM2ImagePredictor

    torch.set_num_threads(1)
    image = np.load(folder / "image.npy")
    out = {}
    for case, (config_file, small) in CASES.items():
        overrides = test_network_overrides(TEST_NETWORK) if small else []
        model = build_sam2(config_file, str(folder / f"{case}.pt"), device="cpu", hydra_overrides_extra=overrides)
        predictor = SAM2ImagePredictor(model)
        predictor.set_image(image)
        for name, flow in FLOWS.items():
            for step, (mask, scores, low_res, logits) in enumerate(reference_flow(predictor, flow)):
                key = f"{case}/{name}/{step}"
                out[f"{key}/mask"] = np.packbits(mask)
                out[f"{key}/scores"] = scores
                out[f"{key}/low_res"] = low_res[::LOW_RES_STEP, ::LOW_RES_STEP]
                out[f"{key}/logits"] = logits[::SAMPLE_STEP, ::SAMPLE_STEP]
                print(f"{key}: mask {mask.mean():.3f} of the image, scores {np.round(scores, 4).tolist()}")
    for variant, config_file in OFFICIAL_CONFIGS.items():
        state = build_sam2(config_file, None, device="cpu").state_dict()
        out[f"official/{variant}/keys"] = np.array(json.dumps({k: list(v.shape) for k, v in state.items()}))
    np.savez(folder / "reference.npz", **out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--reference-python", default=".venv-reference/bin/python",
                        help="python of the environment with torchvision, Hydra and sam2")
    parser.add_argument("--reference-side", metavar="FOLDER", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.reference_side:
        reference_side(Path(args.reference_side))
    else:
        record(os.path.abspath(args.reference_python))


if __name__ == "__main__":
    sys.exit(main())
