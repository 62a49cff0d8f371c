"""pysot.utils.threads: thread defaults that survive a shared machine."""
import os

import pytest
import torch

from pysot.utils import threads


@pytest.fixture
def restore_threads():
    n = torch.get_num_threads()
    yield
    torch.set_num_threads(n)


def test_defaults_passive_waiting_and_one_thread_per_usable_core(monkeypatch, restore_threads):
    monkeypatch.delenv("OMP_WAIT_POLICY", raising=False)
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.setattr(threads, "usable_cores", lambda: 1)
    torch.set_num_threads(2)
    assert threads.configure_threads() == 1 and torch.get_num_threads() == 1
    assert os.environ["OMP_WAIT_POLICY"] == "PASSIVE"
    assert threads.configure_threads(2) == 2 and torch.get_num_threads() == 2


def test_usable_cores_follows_the_affinity():
    if not hasattr(os, "sched_getaffinity"):
        pytest.skip("no CPU affinity on this platform")
    assert threads.usable_cores() == len(os.sched_getaffinity(0))


def test_user_settings_win(monkeypatch, restore_threads):
    monkeypatch.setenv("OMP_WAIT_POLICY", "ACTIVE")
    monkeypatch.setenv("OMP_NUM_THREADS", "2")
    torch.set_num_threads(2)
    assert threads.configure_threads() == 2 and os.environ["OMP_WAIT_POLICY"] == "ACTIVE"
    with pytest.raises(ValueError, match="--threads 0"):
        threads.configure_threads(0)
