"""Training reproduces the original PySOT training code on its own alex YAML (fixtures in
tests/data/training_parity, made with the original code; README there).

Tolerances (issue 17): losses and gradients 1e-5 relative; learning rates exact; labels exact;
weights after SGD steps 1e-5 relative.
"""
import numpy as np
import pytest
import torch
import torch.nn as nn

from training_parity import batch, compare, config, load, synthetic_model
from pysot.training.components import BackboneUnfreezer, build_optimizer
from pysot.utils.lr_scheduler import build_lr_scheduler


@pytest.fixture(autouse=True)
def one_thread():
    """The fixtures were made with one thread; with two, the first convolution's weight gradient (a sum
    over 2 x 118 x 118 positions) is summed in another order and moves by 3e-5 of its largest value."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def loss_fx():
    return load("loss_alex")


@pytest.fixture(scope="module")
def optim_fx():
    return load("optim_alex")


def _prepare(cfg, epoch):
    """Model (synthetic weights, train mode, backbone frozen or not at ``epoch``), optimizer and schedule
    as the trainer sets them up at ``epoch``."""
    torch.manual_seed(0)
    model = synthetic_model(cfg)
    model.train()
    unfreezer = BackboneUnfreezer(model.backbone, cfg.BACKBONE.TRAIN_LAYERS, cfg.BACKBONE.TRAIN_EPOCH, log=False)
    unfreezer.apply(epoch)
    return model, unfreezer, _optimizer(cfg, model, epoch)


def _optimizer(cfg, model, epoch):
    opt = build_optimizer(model, cfg.TRAIN.BASE_LR, cfg.TRAIN.MOMENTUM, cfg.TRAIN.WEIGHT_DECAY,
                          cfg.BACKBONE.TRAIN_LAYERS, cfg.BACKBONE.LAYERS_LR,
                          train_backbone=epoch >= cfg.BACKBONE.TRAIN_EPOCH)
    sched = build_lr_scheduler(cfg, opt)
    sched.set_epoch(epoch)
    return opt, sched


def _step(cfg, model, opt, data):
    losses = model(data, cls_weight=cfg.TRAIN.CLS_WEIGHT, loc_weight=cfg.TRAIN.LOC_WEIGHT)
    opt.zero_grad(set_to_none=True)
    losses["total_loss"].backward()
    nn.utils.clip_grad_norm_(model.parameters(), cfg.TRAIN.GRAD_CLIP)
    opt.step()
    return [float(losses[k].detach()) for k in ("cls_loss", "loc_loss", "total_loss")]


def test_loss_gradients_and_bn_statistics(loss_fx):
    cfg = config("alex")
    model = synthetic_model(cfg)
    model.train()
    losses = model(batch(loss_fx), cls_weight=cfg.TRAIN.CLS_WEIGHT, loc_weight=cfg.TRAIN.LOC_WEIGHT)
    for k in ("cls_loss", "loc_loss", "total_loss"):
        assert float(losses[k].detach()) == pytest.approx(float(loss_fx[f"loss/{k}"]), rel=1e-5), k
    losses["total_loss"].backward()
    names = [k[len("g_norm/"):] for k in loss_fx if k.startswith("g_norm/")]
    params = dict(model.named_parameters())
    assert names and set(names) <= set(params)
    largest = max(float(np.abs(loss_fx[f"g_val/{n}"]).max()) for n in names)
    worst = {n: compare(loss_fx, "g", n, params[n].grad, scale=largest) for n in names}
    assert max(worst.values()) <= 1, sorted(worst.items(), key=lambda kv: -kv[1])[:3]
    buffers = dict(model.named_buffers())
    bufs = [k[len("buf_norm/"):] for k in loss_fx if k.startswith("buf_norm/")]
    assert bufs and max(compare(loss_fx, "buf", n, buffers[n]) for n in bufs) <= 1


def test_learning_rates_of_every_parameter_at_every_epoch_are_exact(optim_fx):
    cfg = config("alex")
    names = [str(n) for n in optim_fx["param_names"]]
    ours = np.zeros((len(names), cfg.TRAIN.EPOCH))
    model = synthetic_model(cfg)
    unfreezer = BackboneUnfreezer(model.backbone, cfg.BACKBONE.TRAIN_LAYERS, cfg.BACKBONE.TRAIN_EPOCH, log=False)
    bn_names = [str(n) for n in optim_fx["bn_names"]]
    modules = dict(model.named_modules())
    bn_train = np.zeros((len(bn_names), cfg.TRAIN.EPOCH), dtype=bool)
    opt = None
    for epoch in range(cfg.TRAIN.EPOCH):
        model.train()
        unfreezer.apply(epoch)
        if opt is None or epoch == cfg.BACKBONE.TRAIN_EPOCH:
            opt, sched = _optimizer(cfg, model, epoch)
        sched.set_epoch(epoch)
        lr_of = {id(p): g["lr"] for g in opt.param_groups for p in g["params"]}
        params = dict(model.named_parameters())
        for i, n in enumerate(names):
            p = params[n]
            ours[i, epoch] = lr_of.get(id(p), 0.0) if p.requires_grad else 0.0
        bn_train[:, epoch] = [modules[n].training for n in bn_names]
    np.testing.assert_array_equal(ours, optim_fx["lrs"])  # exact, to the last bit
    np.testing.assert_array_equal(bn_train, optim_fx["bn_train"])


@pytest.mark.parametrize("case", ["e0", "eTB"])
def test_three_sgd_steps(case, loss_fx, optim_fx):
    cfg = config("alex")
    epoch = int(optim_fx[f"steps_{case}_epoch"])
    model, _, (opt, _) = _prepare(cfg, epoch)
    data = batch(loss_fx)
    losses, w1 = [], None
    for i in range(3):
        losses.append(_step(cfg, model, opt, data))
        if i == 0:
            w1 = {k: v.clone() for k, v in model.state_dict().items()}
    np.testing.assert_allclose(losses, optim_fx[f"steps_{case}_losses"], rtol=1e-5)
    for prefix, weights in ((f"w1_{case}", w1), (f"w_{case}", model.state_dict())):
        names = [k[len(prefix) + len("_norm/"):] for k in optim_fx if k.startswith(prefix + "_norm/")]
        assert names
        worst = {n: compare(optim_fx, prefix, n, weights[n]) for n in names}
        assert max(worst.values()) <= 1, (prefix, sorted(worst.items(), key=lambda kv: -kv[1])[:3])


def test_steps_across_the_unfreezing_epoch_use_a_new_optimizer(loss_fx, optim_fx):
    cfg = config("alex")
    cfg.TRAIN.BASE_LR = float(optim_fx["cross_base_lr"])
    cross = int(optim_fx["cross_epoch"])
    model, unfreezer, (opt, _) = _prepare(cfg, cross - 1)
    data = batch(loss_fx)
    losses = [_step(cfg, model, opt, data), _step(cfg, model, opt, data)]
    unfreezer.apply(cross)
    opt, _ = _optimizer(cfg, model, cross)  # what the trainer does at BACKBONE.TRAIN_EPOCH
    losses.append(_step(cfg, model, opt, data))
    np.testing.assert_allclose(np.array(losses), optim_fx["cross_losses"], rtol=1e-5)
    names = [k[len("wx_norm/"):] for k in optim_fx if k.startswith("wx_norm/")]
    sd = model.state_dict()
    worst = {n: compare(optim_fx, "wx", n, sd[n]) for n in names}
    assert names and max(worst.values()) <= 1, sorted(worst.items(), key=lambda kv: -kv[1])[:3]


def _anchor_target(cfg, **kw):
    from pysot.datasets.anchor_target import AnchorTarget

    t = cfg.TRAIN
    args = dict(pos_num=t.POS_NUM, neg_num=t.NEG_NUM, total_num=t.TOTAL_NUM)
    args.update(kw)
    return AnchorTarget(cfg.ANCHOR.STRIDE, cfg.ANCHOR.RATIOS, cfg.ANCHOR.SCALES, t.SEARCH_SIZE, t.OUTPUT_SIZE,
                        t.THR_HIGH, t.THR_LOW, **args)


def test_anchor_targets_are_the_originals():
    """40 real boxes (10 negative pairs): labels exact with the original's global numpy stream seeded as
    it was; candidate sets (sampling off), deltas and overlaps exact."""
    cfg = config("alex")
    fx = load("target_alex")
    target = _anchor_target(cfg)
    everything = _anchor_target(cfg, pos_num=10 ** 6, neg_num=10 ** 6, total_num=2 * 10 ** 6)
    state = np.random.get_state()
    try:
        for i, (box, neg) in enumerate(zip(fx["boxes"], fx["negs"])):
            np.random.seed(1000 + i)
            out = target(box, bool(neg), np.random)
            np.testing.assert_array_equal(out["cls"], fx["cls"][i], err_msg=f"box {i}")
            np.testing.assert_array_equal(out["delta"], fx["delta"][i], err_msg=f"box {i}")
            np.testing.assert_array_equal(out["delta_weight"], fx["delta_weight"][i], err_msg=f"box {i}")
            np.testing.assert_allclose(out["overlap"], fx["overlap"][i], rtol=0, atol=1e-12, err_msg=f"box {i}")
            np.testing.assert_array_equal(everything(box, bool(neg), np.random)["cls"], fx["cls_all"][i],
                                          err_msg=f"box {i}")
    finally:
        np.random.set_state(state)


@pytest.mark.parametrize("video", ["bag", "ball1", "book", "Biker"])
def test_deterministic_data_pipeline(video):
    """Crops within 1 grey level, box to float precision, labels exact: the original TrkDataset with every
    augmentation off on one real crop-511 frame (the crop maps a side of size - 1, black padding, the
    box is scaled by exemplar / s_z only)."""
    from pysot.datasets.dataset import build_train_dataset
    from training_parity import DATA_DIR

    cfg = config("alex")
    fx = load("data_det_alex")
    cfg.DATASET.NAMES = ["ONE"]
    cfg.DATASET.ONE = type(cfg.DATASET.TEMPLATE)({"ROOT": f"{DATA_DIR}/crop511", "ANNO": f"{DATA_DIR}/one_{video}.json",
                                                  "FRAME_RANGE": 100, "NUM_USE": -1})
    cfg.DATASET.NEG = 0.0
    for node in (cfg.DATASET.TEMPLATE, cfg.DATASET.SEARCH):
        node.SHIFT = node.SCALE = node.BLUR = node.FLIP = node.COLOR = 0.0
    cfg.TRAIN.POS_NUM, cfg.TRAIN.TOTAL_NUM = 10 ** 6, 2 * 10 ** 6  # keep every candidate
    cfg.TRAIN.EPOCH, cfg.DATASET.VIDEOS_PER_EPOCH = 1, 1
    state = np.random.get_state()
    try:
        np.random.seed(0)
        sample = build_train_dataset(cfg, length=1)[0]
    finally:
        np.random.set_state(state)
    for k in ("template", "search"):
        diff = np.abs(sample[k].astype(np.float64) - fx[f"{video}/{k}"].astype(np.float64))
        assert diff.max() <= 1, (k, diff.max())
    np.testing.assert_allclose(sample["bbox"], fx[f"{video}/bbox"], rtol=1e-6, atol=1e-4)
    np.testing.assert_array_equal(sample["label_cls"], fx[f"{video}/label_cls"])
    np.testing.assert_allclose(sample["label_loc"], fx[f"{video}/label_loc"], rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(sample["label_loc_weight"], fx[f"{video}/label_loc_weight"])


def _r50_setup():
    """The r50 YAML on the real crop set, as tests/data/training_parity/heldout_r50.npz was made."""
    from training_parity import DATA_DIR

    cfg = config("r50")
    cfg.BACKBONE.PRETRAINED = ""
    cfg.DATASET.NAMES = ["VID"]
    cfg.DATASET.VID = type(cfg.DATASET.TEMPLATE)({"ROOT": f"{DATA_DIR}/crop511", "ANNO": f"{DATA_DIR}/train.json",
                                                  "FRAME_RANGE": 100, "NUM_USE": -1})
    cfg.DATASET.VIDEOS_PER_EPOCH = 8
    return cfg, load("heldout_r50")


def _r50_batch(cfg):
    from pysot.datasets.dataset import build_train_dataset

    state = np.random.get_state()
    try:
        np.random.seed(3)
        ds = build_train_dataset(cfg, length=cfg.DATASET.VIDEOS_PER_EPOCH)
        samples = [ds[(0, 0)], ds[(0, 1)]]
    finally:
        np.random.set_state(state)
    return {k: torch.from_numpy(np.stack([s[k] for s in samples])) for k in samples[0]}


def test_r50_held_out_augmented_samples_and_learning_rates():
    """Held out (made with the original code for this repo, README there): the r50 YAML's augmented
    pipeline (shift 64, scale 0.18, blur 0.2, PCA colour, NEG 0.2) from the seeded global stream, and the
    LR of every parameter at every epoch (LAYERS_LR 0.1, neck group)."""
    cfg, fx = _r50_setup()
    data = _r50_batch(cfg)
    for k in ("template", "search"):
        v = data[k].double().numpy().ravel()
        from training_parity import positions

        assert np.abs(v[positions(k, v.size)] - fx[f"batch_val/{k}"]).max() <= 1, k  # within 1 grey level
    for k in ("label_cls", "label_loc_weight"):
        np.testing.assert_array_equal(data[k].numpy(), fx[f"batch_{k}"], err_msg=k)
    np.testing.assert_allclose(data["bbox"].numpy(), fx["batch_bbox"], rtol=1e-6, atol=1e-4)
    assert compare(fx, "batch", "label_loc", data["label_loc"]) <= 1
    names = [str(n) for n in fx["param_names"]]
    model = synthetic_model(cfg)
    unfreezer = BackboneUnfreezer(model.backbone, cfg.BACKBONE.TRAIN_LAYERS, cfg.BACKBONE.TRAIN_EPOCH, log=False)
    ours = np.zeros((len(names), cfg.TRAIN.EPOCH))
    opt = None
    for epoch in range(cfg.TRAIN.EPOCH):
        model.train()
        unfreezer.apply(epoch)
        if opt is None or epoch == cfg.BACKBONE.TRAIN_EPOCH:
            opt, sched = _optimizer(cfg, model, epoch)
        sched.set_epoch(epoch)
        lr_of = {id(p): g["lr"] for g in opt.param_groups for p in g["params"]}
        params = dict(model.named_parameters())
        ours[:, epoch] = [lr_of.get(id(params[n]), 0.0) if params[n].requires_grad else 0.0 for n in names]
    np.testing.assert_array_equal(ours, fx["lrs"])


@pytest.mark.slow
def test_r50_held_out_step_at_the_unfreezing_epoch():
    """One SGD step of ResNet-50 + neck + weighted MultiRPN at BACKBONE.TRAIN_EPOCH on those samples:
    losses, every gradient and the weights after the step."""
    cfg, fx = _r50_setup()
    data = _r50_batch(cfg)
    epoch = int(fx["step_epoch"])
    model, _, (opt, _) = _prepare(cfg, epoch)
    losses = model(data, cls_weight=cfg.TRAIN.CLS_WEIGHT, loc_weight=cfg.TRAIN.LOC_WEIGHT)
    np.testing.assert_allclose([float(losses[k].detach()) for k in ("cls_loss", "loc_loss", "total_loss")],
                               fx["losses"], rtol=1e-5)
    opt.zero_grad(set_to_none=True)
    losses["total_loss"].backward()
    params = dict(model.named_parameters())
    names = [k[len("g_norm/"):] for k in fx if k.startswith("g_norm/")]
    largest = max(float(np.abs(fx[f"g_val/{n}"]).max()) for n in names)
    worst = {n: compare(fx, "g", n, params[n].grad, scale=largest) for n in names}
    assert max(worst.values()) <= 1, sorted(worst.items(), key=lambda kv: -kv[1])[:3]
    nn.utils.clip_grad_norm_(model.parameters(), cfg.TRAIN.GRAD_CLIP)
    opt.step()
    sd = model.state_dict()
    names = [k[len("w_val/"):] for k in fx if k.startswith("w_val/")]  # the trained parameters
    assert len(names) == len([k for k in fx if k.startswith("g_val/")])
    worst = {n: compare(fx, "w", n, sd[n]) for n in names}
    assert max(worst.values()) <= 1, sorted(worst.items(), key=lambda kv: -kv[1])[:3]
