"""Fixtures shared by the learned-model tests."""
import pytest
import torch


@pytest.fixture(autouse=True)
def one_torch_thread():
    """Tiny networks run fastest on one thread, and do not stall when other processes load the CPU."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
