"""The ``focalxl`` command line: segment, demo, presets, and delegation to eval/bench."""
from __future__ import annotations

import shutil
import subprocess
import sys
import types
from pathlib import Path

import cv2
import numpy as np
import pytest

import focalxl
from focalxl import cli
from focalxl.session import Session

WIDTH, HEIGHT = 120, 90


@pytest.fixture
def image_path(tmp_path: Path) -> Path:
    """A dark, slightly noisy picture with a bright red disc in the middle."""
    rng = np.random.default_rng(0)
    image = rng.integers(10, 40, size=(HEIGHT, WIDTH, 3), dtype=np.uint8)
    cv2.circle(image, (60, 45), 25, (40, 40, 220), -1)           # BGR: red
    path = tmp_path / "disc.png"
    cv2.imwrite(str(path), image)
    return path


def _read_grey(path: Path) -> np.ndarray:
    image = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    assert image is not None, path
    return image


def test_segment_writes_mask_alpha_overlay(image_path, tmp_path, capsys):
    out, alpha, overlay = tmp_path / "o" / "mask.png", tmp_path / "o" / "alpha.png", tmp_path / "o" / "overlay.png"
    code = cli.main(["segment", str(image_path), "--click", "60,45", "--out", str(out), "--alpha", str(alpha),
                     "--overlay", str(overlay)])
    assert code == 0
    mask = _read_grey(out)
    assert mask.shape == (HEIGHT, WIDTH) and set(np.unique(mask)) <= {0, 255}
    assert mask[45, 60] == 255 and mask[2, 2] == 0
    assert _read_grey(alpha).shape == (HEIGHT, WIDTH)
    assert _read_grey(overlay).shape == (HEIGHT, WIDTH, 3)
    line = capsys.readouterr().out.strip()
    assert len(line.splitlines()) == 1
    assert " px " in line and "bbox (" in line and "score" in line and line.endswith(" ms")


def test_segment_without_outputs_only_prints(image_path, capsys):
    assert cli.main(["segment", str(image_path), "--box", "30,15,90,75"]) == 0
    assert "1 interaction in" in capsys.readouterr().out


def test_interactions_are_applied_in_command_line_order(image_path, monkeypatch):
    seen = []
    original = Session.add

    def recording_add(self, interaction):
        seen.append(interaction)
        return original(self, interaction)

    monkeypatch.setattr(Session, "add", recording_add)
    code = cli.main(["segment", str(image_path), "--click", "60,45", "--box", "30,15,90,75",
                     "--click", "5,5,neg", "--scribble", "50,40;70,50;width=3", "--click", "62,47,pos"])
    assert code == 0
    assert seen == [focalxl.Click(60, 45), focalxl.Box(30, 15, 90, 75), focalxl.Click(5, 5, False),
                    focalxl.Scribble([(50, 40), (70, 50)], width=3), focalxl.Click(62, 47, True)]


def test_segment_corrects_an_existing_mask_and_takes_a_coarse_mask(image_path, tmp_path):
    existing = np.zeros((HEIGHT, WIDTH), np.uint8)
    cv2.circle(existing, (60, 45), 20, 255, -1)
    cv2.imwrite(str(tmp_path / "old.png"), existing)
    out = tmp_path / "fixed.png"
    code = cli.main(["segment", str(image_path), "--mask", str(tmp_path / "old.png"),
                     "--coarse-mask", str(tmp_path / "old.png"), "--click", "60,45", "--out", str(out)])
    assert code == 0
    assert _read_grey(out)[45, 60] == 255


@pytest.mark.parametrize("text", ["1,2,3", "abc", "1", "1,2,3,4", "x,2", "nan,2", "1,2,maybe"])
def test_bad_click_syntax_exits_2_naming_the_argument(image_path, capsys, text):
    assert cli.main(["segment", str(image_path), "--click", text]) == 2
    err = capsys.readouterr().err
    assert "--click" in err and "Traceback" not in err


@pytest.mark.parametrize("option, text", [("--box", "1,2,3"), ("--box", "a,b,c,d"), ("--scribble", "neg"),
                                          ("--scribble", "1,2;width=-1"), ("--scribble", "1,2;3")])
def test_bad_box_and_scribble_syntax_exit_2(image_path, capsys, option, text):
    assert cli.main(["segment", str(image_path), option, text]) == 2
    assert option in capsys.readouterr().err


@pytest.mark.parametrize("args", [["--click", "500,10"], ["--click", "10,90"], ["--box", "0,0,121,50"],
                                  ["--scribble", "10,10;10,200"]])
def test_out_of_image_prompt_exits_2_naming_the_argument(image_path, tmp_path, capsys, args):
    out = tmp_path / "never.png"
    assert cli.main(["segment", str(image_path), *args, "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert args[0] in err and "outside" in err and "Traceback" not in err
    assert not out.exists()


def test_missing_or_unreadable_image_exits_2(tmp_path, capsys):
    assert cli.main(["segment", str(tmp_path / "nope.png"), "--click", "1,1"]) == 2
    assert "IMAGE" in capsys.readouterr().err
    (tmp_path / "text.png").write_text("not a picture")
    assert cli.main(["segment", str(tmp_path / "text.png"), "--click", "1,1"]) == 2
    assert "IMAGE" in capsys.readouterr().err


def test_no_interaction_exits_2(image_path, capsys):
    assert cli.main(["segment", str(image_path), "--out", "x.png"]) == 2
    assert "--click" in capsys.readouterr().err


def test_other_bad_arguments_exit_2(image_path, tmp_path, capsys):
    small = tmp_path / "small.png"
    cv2.imwrite(str(small), np.zeros((10, 10), np.uint8))
    cases = [(["--mask", str(small)], "--mask"), (["--coarse-mask", str(small)], "--coarse-mask"),
             (["--preset", "no-such-preset"], "--preset"), (["--checkpoint", str(tmp_path / "w.pt")], "--checkpoint"),
             (["--out", str(tmp_path / "mask.unknown")], "--out")]
    for extra, argument in cases:
        args = ["segment", str(image_path), "--click", "60,45", *extra]
        assert cli.main(args) == 2, extra
        assert argument in capsys.readouterr().err


def test_grey_and_rgba_images_are_read_as_rgb(tmp_path):
    grey = np.full((5, 7), 100, np.uint8)
    cv2.imwrite(str(tmp_path / "g.png"), grey)
    bgra = np.zeros((5, 7, 4), np.uint8)
    bgra[..., 2] = 200      # red
    bgra[..., 3] = 255
    cv2.imwrite(str(tmp_path / "a.png"), bgra)
    assert cli.read_image(tmp_path / "g.png").shape == (5, 7, 3)
    rgb = cli.read_image(tmp_path / "a.png")
    assert rgb.shape == (5, 7, 3) and tuple(rgb[0, 0]) == (200, 0, 0)


def test_prompt_parsers():
    assert cli.parse_click("1.5, 2") == focalxl.Click(1.5, 2.0, True)
    assert cli.parse_click("3,4,neg") == focalxl.Click(3, 4, False)
    assert cli.parse_box("10,20,0,5") == focalxl.Box(0, 5, 10, 20)
    scribble = cli.parse_scribble("1,2; 3,4 ;neg;width=7")
    assert scribble.points == ((1, 2), (3, 4)) and not scribble.positive and scribble.width == 7


def test_demo_writes_its_files(tmp_path, capsys):
    out = tmp_path / "demo"
    assert cli.main(["demo", "--out", str(out)]) == 0
    files = sorted(p.name for p in out.iterdir())
    assert len(files) == 3 * 5
    assert {"step1_click_mask.png", "step3_box_overlay.png", "step5_click_alpha.png"} <= set(files)
    assert _read_grey(out / "step3_box_mask.png").shape == (300, 451)
    text = capsys.readouterr().out
    assert "step 5" in text and " ms" in text


def test_presets_lists_classical(capsys):
    assert cli.main(["presets"]) == 0
    assert "classical" in capsys.readouterr().out.split()


def test_eval_is_delegated(monkeypatch):
    calls = []
    fake = types.ModuleType("focalxl.evaluation.run")
    fake.main = lambda argv: calls.append(argv) or 7
    monkeypatch.setitem(sys.modules, "focalxl.evaluation.run", fake)
    assert cli.main(["eval", "data/", "--limit", "3"]) == 7
    assert calls == [["data/", "--limit", "3"]]


def test_bench_is_delegated(capsys):
    assert cli.main(["bench", "--help"]) == 0
    assert "focalxl bench" in capsys.readouterr().out


def test_console_script_help():
    script = shutil.which("focalxl", path=str(Path(sys.executable).parent)) or shutil.which("focalxl")
    assert script, "the focalxl console script is not installed: run `pip install -e .`"
    done = subprocess.run([script, "--help"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    for command in ("segment", "demo", "presets", "eval", "bench"):
        assert command in done.stdout
