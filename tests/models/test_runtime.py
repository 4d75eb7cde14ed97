import pytest
import torch

from focalxl import runtime


def test_auto_device_is_cpu_without_a_gpu():
    if torch.cuda.is_available() or torch.backends.mps.is_available():
        pytest.skip("a GPU is present")
    assert runtime.pick_device(None) == torch.device("cpu")
    assert runtime.pick_device("auto") == torch.device("cpu")


@pytest.mark.parametrize("name", ["gpu", "tpu", "cuda:x", 3])
def test_unknown_device_names_the_device(name):
    with pytest.raises(ValueError, match="device"):
        runtime.pick_device(name)


def test_cuda_without_a_gpu_is_refused_clearly():
    if torch.cuda.is_available():
        pytest.skip("a GPU is present")
    with pytest.raises(ValueError, match="no CUDA GPU"):
        runtime.pick_device("cuda")


def test_cpu_runs_in_full_precision_without_autograd():
    device = runtime.pick_device("cpu")
    assert runtime.autocast_dtype(device) is None
    layer = torch.nn.Linear(3, 2)
    with runtime.inference(device):
        out = layer(torch.ones(1, 3))
    assert out.dtype == torch.float32
    assert not out.requires_grad


@pytest.mark.parametrize("threads", [0, -1, 1.5, "2"])
def test_thread_count_must_be_a_positive_integer(threads):
    with pytest.raises(ValueError, match="threads"):
        runtime.set_cpu_threads(threads)


def test_thread_count_is_applied():
    before = torch.get_num_threads()
    try:
        runtime.set_cpu_threads(1)
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)


def test_a_shared_model_is_built_once_per_key():
    built = []

    def build():
        built.append(1)
        return object()

    first = runtime.shared_model(("test-shared", 1), build)
    again = runtime.shared_model(("test-shared", 1), build)
    other = runtime.shared_model(("test-shared", 2), build)
    assert first is again and other is not first
    assert len(built) == 2
