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


@pytest.fixture
def fresh_state(monkeypatch, restore_threads):
    monkeypatch.setattr(threads, "_state", {"chosen": False, "late_policy": False})
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.setattr(threads, "usable_cores", lambda: 3)


def test_entry_points_use_all_cores_when_idle_threads_sleep(monkeypatch, fresh_state):
    monkeypatch.setenv("OMP_WAIT_POLICY", "PASSIVE")  # as `import pysot` before torch sets it
    torch.set_num_threads(1)
    assert threads.use_default_threads() == 3 and torch.get_num_threads() == 3
    torch.set_num_threads(2)
    assert threads.use_default_threads() == 2  # once per process: a later choice stays


def test_entry_points_use_one_thread_when_torch_spins(monkeypatch, fresh_state):
    """torch imported before pysot, OMP_WAIT_POLICY unset: OpenMP's threads spin, so one thread."""
    monkeypatch.delenv("OMP_WAIT_POLICY", raising=False)
    torch.set_num_threads(2)
    assert threads.use_default_threads() == 1 and torch.get_num_threads() == 1


def test_entry_points_keep_the_callers_choice(monkeypatch, fresh_state):
    monkeypatch.setenv("OMP_WAIT_POLICY", "PASSIVE")
    assert threads.configure_threads(2) == 2
    assert threads.use_default_threads() == 2 and torch.get_num_threads() == 2
    monkeypatch.setattr(threads, "_state", {"chosen": False, "late_policy": False})
    monkeypatch.setenv("OMP_NUM_THREADS", "2")
    assert threads.use_default_threads() == 2
    # a policy set after torch's import is not in effect
    monkeypatch.delenv("OMP_WAIT_POLICY")
    monkeypatch.delenv("OMP_NUM_THREADS")
    monkeypatch.setattr(threads, "_state", {"chosen": False, "late_policy": False})
    threads.configure_threads(2)
    assert not threads.passive_wait_in_effect()


def test_building_a_tracker_sets_the_threads(monkeypatch, fresh_state):
    from pysot.config import load_cfg
    from pysot.data import TINY_MODEL
    from pysot.models import build_model
    from pysot.tracker import build_tracker
    from shared_paths import REPO

    monkeypatch.delenv("OMP_WAIT_POLICY", raising=False)
    torch.set_num_threads(2)
    cfg = load_cfg(os.path.join(REPO, "experiments", "siamrpn_alex_tiny", "config.yaml"))
    build_tracker(cfg, build_model(cfg).eval(), fast=False)
    assert torch.get_num_threads() == 1


def test_import_pysot_before_torch_makes_threads_sleep():
    import subprocess
    import sys

    from shared_paths import REPO

    code = "import os, pysot, torch; print(os.environ.get('OMP_WAIT_POLICY'))"
    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=dict(env, PYTHONPATH=REPO), capture_output=True,
                         text=True, timeout=120)
    assert out.stdout.strip() == "PASSIVE", out.stderr
    code = "import os, torch, pysot; print(os.environ.get('OMP_WAIT_POLICY'))"  # too late: left alone
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=dict(env, PYTHONPATH=REPO), capture_output=True,
                         text=True, timeout=120)
    assert out.stdout.strip() == "None", out.stderr
