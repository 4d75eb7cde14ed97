"""``focalxl demo``: the whole interactive loop on the bundled picture of Chelsea the cat.

A scripted annotator clicks on the cat, draws a box around it, clicks the
background away and adds a last click, as a person would. Every step writes the
mask, the alpha matte and an overlay, and prints what it did and how long it took.
Runs with the ``classical`` preset: no weights, no network.
"""
from __future__ import annotations

import time
from pathlib import Path
from typing import List, Optional, Tuple, Union

from .interactions import Box, Click, Interaction

SAMPLE_IMAGE = Path(__file__).resolve().parent / "data" / "chelsea.png"   # 451x300, CC0, see data/README.md

# (what the annotator means, the interaction), in pixels of the 451x300 sample.
DEMO_STEPS: List[Tuple[str, Interaction]] = [
    ("click the forehead", Click(240.0, 60.0)),
    ("click the left cheek", Click(120.0, 200.0)),
    ("box around the cat", Box(15.0, 0.0, 380.0, 300.0)),
    ("click the background on the right away", Click(410.0, 160.0, positive=False)),
    ("click the chin", Click(265.0, 250.0)),
]


def run_demo(out_dir: Union[str, Path] = "focalxl-demo", preset: str = "classical",
             checkpoint: Optional[str] = None, steps: List[Tuple[str, Interaction]] = DEMO_STEPS,
             echo=print) -> List[Path]:
    """Run ``steps`` on the sample image, writing three PNGs per step into ``out_dir``.

    Returns the paths written.
    """
    from .command_io import describe, load_segmenter, read_image, write_image
    from .overlays import alpha_png, mask_png, overlay

    out = Path(out_dir)
    image = read_image(SAMPLE_IMAGE, "sample image")
    height, width = image.shape[:2]
    start = time.perf_counter()
    segmenter = load_segmenter(preset, checkpoint)
    session = segmenter.new_session(image)
    echo(f"focalxl demo: {SAMPLE_IMAGE.name} ({width}x{height}), preset {preset} "
         f"(loaded in {(time.perf_counter() - start) * 1000:.0f} ms), writing to {out}/")
    written: List[Path] = []
    total = 0.0
    for number, (meaning, interaction) in enumerate(steps, start=1):
        start = time.perf_counter()
        result = session.add(interaction)
        elapsed = (time.perf_counter() - start) * 1000.0
        total += elapsed
        stem = out / f"step{number}_{interaction.kind}"
        for suffix, picture in (("mask", mask_png(result.mask)), ("alpha", alpha_png(result.alpha)),
                                ("overlay", overlay(image, result.mask, session.history))):
            path = stem.with_name(f"{stem.name}_{suffix}.png")
            write_image(path, picture, "--out")
            written.append(path)
        echo(f"  step {number}: {meaning:<40} {_short(interaction):<24} -> {describe(result, (height, width))}, "
             f"{elapsed:.0f} ms")
    echo(f"{len(steps)} interactions in {total:.0f} ms ({total / max(1, len(steps)):.0f} ms each on average); "
         f"{len(written)} files in {out}/")
    return written


def _short(interaction: Interaction) -> str:
    if isinstance(interaction, Click):
        return f"click ({interaction.x:g}, {interaction.y:g}){'' if interaction.positive else ' neg'}"
    if isinstance(interaction, Box):
        return f"box ({interaction.x0:g}, {interaction.y0:g}, {interaction.x1:g}, {interaction.y1:g})"
    return interaction.kind
