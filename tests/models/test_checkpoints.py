import pickle

import pytest
import torch
from torch import nn

from focalxl.models.checkpoints import load_strict, mismatch_report, read_checkpoint


def _net():
    return nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4))


def test_a_saved_state_dict_round_trips(tmp_path):
    net = _net()
    path = tmp_path / "net.pth"
    torch.save(net.state_dict(), path)
    fresh = load_strict(_net(), read_checkpoint(path), str(path))
    for key, value in net.state_dict().items():
        assert torch.equal(fresh.state_dict()[key], value)


def test_a_checkpoint_that_would_run_code_is_refused(tmp_path):
    class Payload:
        def __reduce__(self):
            return (print, ("ran",))

    path = tmp_path / "evil.pth"
    with open(path, "wb") as f:
        pickle.dump(Payload(), f)
    with pytest.raises(ValueError, match="weights-only"):
        read_checkpoint(path)


def test_a_missing_file_names_the_checkpoint(tmp_path):
    with pytest.raises(ValueError, match="does not exist"):
        read_checkpoint(tmp_path / "nope.pth")


def test_mismatches_are_reported_key_by_key():
    state = _net().state_dict()
    state.pop("0.bias")
    state["extra.weight"] = torch.zeros(1)
    state["1.weight"] = torch.zeros(5)
    report = "\n".join(mismatch_report(_net(), state))
    assert "1 missing keys: 0.bias" in report
    assert "1 unexpected keys: extra.weight" in report
    assert "1.weight (5,) != (4,)" in report
    with pytest.raises(ValueError, match="does not fit Sequential"):
        load_strict(_net(), state, "test.pth")


def test_a_state_dict_of_non_tensors_is_refused():
    with pytest.raises(ValueError, match="tensors"):
        load_strict(_net(), {"0.weight": [1, 2]}, "test.pth")
