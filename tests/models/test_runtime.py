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


def test_cpu_runs_in_full_precision_without_autograd_by_default():
    device = runtime.pick_device("cpu")
    assert runtime.autocast_dtype(device, "fp32") is None
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


def test_precision_fp32_never_autocasts_and_bf16_always_does_on_cpu():
    device = torch.device("cpu")
    assert runtime.autocast_dtype(device, "fp32") is None
    assert runtime.autocast_dtype(device, "bf16") is torch.bfloat16
    layer = torch.nn.Linear(3, 2)
    with runtime.inference(device, torch.bfloat16):
        assert layer(torch.ones(1, 3)).dtype == torch.bfloat16


def test_auto_precision_on_cpu_follows_native_bf16_and_the_models_agreement():
    device = torch.device("cpu")
    expected = torch.bfloat16 if runtime.cpu_has_bf16() else None
    assert runtime.autocast_dtype(device, "auto") is expected
    assert runtime.autocast_dtype(device, "auto", bf16_agrees=False) is None


@pytest.mark.parametrize("precision", ["fp16", "BF16", None, 16])
def test_unknown_precision_names_the_option(precision):
    with pytest.raises(ValueError, match="precision"):
        runtime.autocast_dtype(torch.device("cpu"), precision)
