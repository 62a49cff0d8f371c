import numpy as np
import pytest
import torch

from pysot.config import get_cfg
from pysot.utils.lr_scheduler import EpochLR, build_epoch_lrs, build_lr_scheduler, epoch_lrs


def test_warmup_then_log():
    lrs = build_epoch_lrs(10, "log", {"start_lr": 0.01, "end_lr": 0.0001}, warmup=True, warmup_kind="step",
                          warmup_epochs=3, warmup_kwargs={"start_lr": 0.001, "end_lr": 0.01, "step": 1})
    assert len(lrs) == 10
    # The original's warm-up: mult = (end / start) ** (1 / epochs), so it stops one step short of end_lr.
    np.testing.assert_allclose(lrs[:3], [0.001, 0.001 * 10 ** (1 / 3), 0.001 * 10 ** (2 / 3)], rtol=1e-12)
    np.testing.assert_allclose(lrs[3], 0.01) and np.testing.assert_allclose(lrs[-1], 0.0001)
    assert all(a > b for a, b in zip(lrs[3:], lrs[4:]))


def test_other_kinds():
    np.testing.assert_allclose(epoch_lrs("step", 4, start_lr=1.0, step=2, mult=0.1), [1, 1, 0.1, 0.1])
    np.testing.assert_allclose(epoch_lrs("multi-step", 4, start_lr=1.0, milestones=[1, 3], mult=0.5),
                               [1, 0.5, 0.5, 0.25])
    np.testing.assert_allclose(epoch_lrs("linear", 3, start_lr=1.0, end_lr=0.0), [1, 0.5, 0])
    cos = epoch_lrs("cos", 4, start_lr=1.0, end_lr=0.0)
    assert cos[0] == 1.0 and cos[-1] < 0.2
    with pytest.raises(ValueError, match="unknown LR schedule"):
        epoch_lrs("exp", 3, start_lr=1.0)
    with pytest.raises(ValueError, match="start_lr"):
        epoch_lrs("log", 3)


def test_group_multipliers_and_state():
    w1, w2 = torch.nn.Parameter(torch.zeros(1)), torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([{"params": [w1], "lr_mult": 1.0}, {"params": [w2], "lr_mult": 0.1}], lr=1.0)
    sched = EpochLR(opt, [0.5, 0.2])
    sched.set_epoch(1)
    assert opt.param_groups[0]["lr"] == 0.2 and abs(opt.param_groups[1]["lr"] - 0.02) < 1e-12
    other = EpochLR(opt, [9.0])
    other.load_state_dict(sched.state_dict())
    assert list(other.lrs) == [0.5, 0.2] and other.epoch == 1


def test_from_config_defaults_to_base_lr():
    cfg = get_cfg()
    cfg.TRAIN.EPOCH = 6
    cfg.TRAIN.LR_WARMUP.EPOCH = 2
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
    sched = build_lr_scheduler(cfg, opt)
    assert len(sched.lrs) == 6
    assert sched.lrs[0] == pytest.approx(cfg.TRAIN.BASE_LR / 10)
    assert sched.lrs[1] == pytest.approx(cfg.TRAIN.BASE_LR / 10 ** 0.5)
    assert sched.lrs[2] == pytest.approx(cfg.TRAIN.BASE_LR)
    assert sched.set_epoch(2) == pytest.approx(cfg.TRAIN.BASE_LR)


def test_rates_are_scaled_by_base_lr_over_start_lr():
    """The original multiplies its schedule by TRAIN.BASE_LR / start_lr (the alex YAML trains at half its
    schedule: BASE_LR 0.005, start_lr 0.01), and by BACKBONE.LAYERS_LR for the backbone group."""
    cfg = get_cfg()
    cfg.TRAIN.EPOCH, cfg.TRAIN.BASE_LR = 4, 0.005
    cfg.TRAIN.LR_WARMUP.WARMUP = False
    cfg.TRAIN.LR.TYPE, cfg.TRAIN.LR.KWARGS = "log", type(cfg.TRAIN.LR.KWARGS)({"start_lr": 0.01, "end_lr": 0.001})
    w1, w2 = torch.nn.Parameter(torch.zeros(1)), torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([{"params": [w1], "initial_lr": 0.1 * 0.005}, {"params": [w2], "initial_lr": 0.005}],
                          lr=1.0)
    sched = build_lr_scheduler(cfg, opt)
    assert sched.set_epoch(0) == pytest.approx(0.005)
    assert opt.param_groups[0]["lr"] == pytest.approx(0.0005) and opt.param_groups[1]["lr"] == pytest.approx(0.005)
    sched.set_epoch(3)
    assert opt.param_groups[1]["lr"] == pytest.approx(0.0005)
    other = build_lr_scheduler(cfg, opt)
    other.load_state_dict(sched.state_dict())
    assert other.epoch == 3 and opt.param_groups[1]["lr"] == pytest.approx(0.0005)


def test_config_errors_name_the_keys():
    from pysot.config import ConfigError

    cfg = get_cfg()
    cfg.TRAIN.EPOCH, cfg.TRAIN.LR_WARMUP.EPOCH = 1, 5
    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1)
    with pytest.raises(ConfigError, match=r"TRAIN.LR_WARMUP.EPOCH \(5\) is longer than TRAIN.EPOCH \(1\)"):
        build_lr_scheduler(cfg, optimizer)
    cfg.TRAIN.LR_WARMUP.WARMUP = False
    assert len(build_lr_scheduler(cfg, optimizer).lrs) == 1  # no warm-up: one epoch is fine
    cfg.TRAIN.LR.TYPE = "exp"
    with pytest.raises(ConfigError, match=r"TRAIN.LR / TRAIN.LR_WARMUP: unknown LR schedule 'exp'"):
        build_lr_scheduler(cfg, optimizer)
