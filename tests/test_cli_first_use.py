"""What a new user of the command line meets first: the version, unsaved results, missing weights."""
from __future__ import annotations

from focalxl import cli
from focalxl.demo import SAMPLE_IMAGE


def test_version_prints_the_installed_version(capsys):
    assert cli.main(["--version"]) == 0
    assert capsys.readouterr().out.startswith("focalxl 0.")


def test_segment_without_an_output_option_says_that_nothing_was_written(capsys):
    assert cli.main(["segment", str(SAMPLE_IMAGE), "--click", "240,60"]) == 0
    err = capsys.readouterr().err
    assert "nothing written" in err and "--out" in err


def test_a_learned_preset_without_weights_is_told_to_give_them_with_the_checkpoint_option(capsys):
    assert cli.main(["segment", str(SAMPLE_IMAGE), "--preset", "sam-vit-b", "--click", "240,60"]) == 2
    err = capsys.readouterr().err
    assert "--checkpoint PATH" in err and "checkpoint=PATH" not in err
