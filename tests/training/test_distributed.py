"""Training with several processes (torchrun, srun) and surviving a cluster's signals (CPU, gloo).

The runs of several training processes are marked slow (CI runs them with ``-m slow``); the
launcher's environment parsing runs by default.
"""
import os
import signal
import socket
import subprocess
import sys
import threading

import pytest
import torch
from torch.utils.data import default_collate

from pysot.config import load_cfg
from pysot.datasets.dataset import EpochSampler, build_train_dataset
from pysot.datasets.synthetic import write_crop511_dataset
from pysot.models import build_model
from pysot.training.components import BackboneUnfreezer, build_optimizer
from pysot.training.trainer import seed_everything
from pysot.utils.checkpoint import load_checkpoint
from pysot.utils.distributed import LaunchError, detect_launch, expand_nodelist
from pysot.utils.lr_scheduler import build_lr_scheduler

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CFG = os.path.join(REPO, "experiments", "siamrpn_alex_tiny", "config.yaml")
HAS_PROC_CHILDREN = os.path.exists(f"/proc/{os.getpid()}/task/{os.getpid()}/children")


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return write_crop511_dataset(str(tmp_path_factory.mktemp("data")), num_videos=6, num_frames=5, seed=2)


def _opts(data, snap, epochs=2, iters=2, batch=2, workers=0):
    return ["DATASET.SYNTHETIC.ROOT", data["root"], "DATASET.SYNTHETIC.ANNO", data["anno"],
            "TRAIN.EPOCH", str(epochs), "TRAIN.ITERS_PER_EPOCH", str(iters), "TRAIN.BATCH_SIZE", str(batch),
            "TRAIN.NUM_WORKERS", str(workers), "TRAIN.LR_WARMUP.EPOCH", "1", "TRAIN.PRINT_FREQ", "1",
            "TRAIN.SNAPSHOT_DIR", str(snap), "TRAIN.LOG_DIR", ""]


def _env(**extra):
    env = dict(os.environ, OMP_NUM_THREADS="1", NO_COLOR="1")
    for k in [k for k in env if k.startswith("SLURM_") or k in ("RANK", "WORLD_SIZE", "LOCAL_RANK",
                                                                   "MASTER_ADDR", "MASTER_PORT")]:
        del env[k]  # the test decides how the processes are launched
    env["PYTHONPATH"] = REPO + os.pathsep + env.get("PYTHONPATH", "")
    env.update(extra)
    return env


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ---------------------------------------------------------------------------------------- launcher detection
def test_slurm_nodelists_expand():
    assert expand_nodelist("node1") == ["node1"]
    assert expand_nodelist("gpu[01-03,7],cpu-a") == ["gpu01", "gpu02", "gpu03", "gpu7", "cpu-a"]
    assert expand_nodelist("r[1-2]n[3-4]") == ["r1n3", "r1n4", "r2n3", "r2n4"]
    with pytest.raises(LaunchError, match="a-b"):
        expand_nodelist("gpu[a-b]")


def test_launcher_environments():
    assert detect_launch({}).info.world_size == 1 and detect_launch({}).info.launcher == "none"
    run = detect_launch({"RANK": "3", "WORLD_SIZE": "8", "LOCAL_RANK": "1", "MASTER_ADDR": "h", "MASTER_PORT": "29500"})
    assert (run.info.rank, run.info.world_size, run.info.local_rank, run.info.launcher) == (3, 8, 1, "torchrun")
    slurm = {"SLURM_PROCID": "5", "SLURM_NTASKS": "8", "SLURM_LOCALID": "1", "SLURM_JOB_ID": "123456",
             "SLURM_JOB_NODELIST": "gpu[07-08]"}
    s = detect_launch(slurm)
    assert (s.info.rank, s.info.world_size, s.info.local_rank, s.info.launcher) == (5, 8, 1, "slurm")
    assert s.master_addr == "gpu07" and s.master_port == 15000 + 123456 % 20000
    # The step's own list and count win over the allocation's; explicit MASTER_* win over both.
    s = detect_launch(dict(slurm, SLURM_STEP_NUM_TASKS="6", SLURM_STEP_NODELIST="n[3-4]"))
    assert s.info.world_size == 6 and s.master_addr == "n3"
    s = detect_launch(dict(slurm, MASTER_ADDR="10.0.0.1", MASTER_PORT="4000"))
    assert (s.master_addr, s.master_port) == ("10.0.0.1", 4000)
    # srun running torchrun: torchrun's processes are the ranks.
    both = dict(slurm, RANK="0", WORLD_SIZE="2", LOCAL_RANK="0")
    assert detect_launch(both).info.launcher == "torchrun"
    with pytest.raises(LaunchError, match="SLURM_PROCID=9"):
        detect_launch(dict(slurm, SLURM_PROCID="9"))
    with pytest.raises(LaunchError, match="SLURM_NTASKS='x'"):
        detect_launch(dict(slurm, SLURM_NTASKS="x"))


# ---------------------------------------------------------------------------------------- signals, one process
def _stop_with(cmd, env, send, when=" it 2/"):
    """Start ``cmd`` in its own session, call ``send(proc)`` once the log shows ``when``; (rc, log)."""
    proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    lines = []

    def read():
        sent = False
        for line in proc.stderr:
            lines.append(line)
            if not sent and when in line:
                sent = True
                send(proc)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    reader.join(timeout=240)
    if reader.is_alive():
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=60)
    reader.join(timeout=10)
    return proc.returncode, "".join(lines)


def _run(cmd, timeout=300):
    proc = subprocess.run(cmd, cwd=REPO, env=_env(), capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc


def _stopped_at(log):
    assert "stopped at iteration" in log, log[-3000:]
    return int(log.split("stopped at iteration ")[1].split(";")[0])


def _assert_same_weights(a_path, b_path, rtol=1e-5, atol=1e-6):
    a, b = load_checkpoint(str(a_path))["state_dict"], load_checkpoint(str(b_path))["state_dict"]
    assert a.keys() == b.keys()
    for k in a:
        torch.testing.assert_close(a[k], b[k], rtol=rtol, atol=atol, msg=f"{k} differs")


@pytest.mark.slow  # three training processes: about a minute on a loaded 2-core machine
def test_sigterm_to_the_process_group_saves_and_resumes_exactly(data, tmp_path):
    """What SLURM and ``timeout`` do: every process of the group, DataLoader workers included, gets SIGTERM.
    Before the fix the workers died of it and the run ended with a traceback, exit 1, nothing saved."""
    full, snap = tmp_path / "full", tmp_path / "snap"
    opts = _opts(data, snap, epochs=2, iters=3, workers=1)
    cmd = [sys.executable, "tools/train.py", "--cfg", CFG, "--device", "cpu", "--opts"] + opts
    rc, log = _stop_with(cmd, _env(), lambda p: os.killpg(p.pid, signal.SIGTERM))
    assert rc == 143, log[-3000:]
    assert "Traceback" not in log and "killed by signal" not in log, log[-3000:]
    stopped = _stopped_at(log)
    assert 2 <= stopped < 6
    assert load_checkpoint(str(snap / "latest.pth"))["iteration"] == stopped
    # Resuming from that save ends where an uninterrupted run ends, with its weights (both runs in
    # subprocesses: one thread each, as the interrupted run; another thread count rounds differently).
    _run(cmd + ["--resume", str(snap / "latest.pth")])
    _run([sys.executable, "tools/train.py", "--cfg", CFG, "--device", "cpu", "--opts"]
         + _opts(data, full, epochs=2, iters=3, workers=1))
    assert load_checkpoint(str(snap / "latest.pth"))["iteration"] == 6
    _assert_same_weights(full / "latest.pth", snap / "latest.pth", rtol=0, atol=0)


# ---------------------------------------------------------------------------------------- several processes
def _reference_two_ranks(cfg, steps, world=2):
    """Weights after ``steps`` SGD steps of one process that computes what ``world`` DDP ranks compute:
    each rank's share of the global batch (``EpochSampler``) through the model on its own (BatchNorm
    statistics per rank, loss normalised per rank), gradients averaged over the ranks, one step."""
    t = cfg.TRAIN
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # as each rank (OMP_NUM_THREADS=1): the same convolution kernels and rounding
    try:
        return _reference_steps(cfg, steps, world)
    finally:
        torch.set_num_threads(threads)


def _reference_steps(cfg, steps, world):
    t = cfg.TRAIN
    seed_everything(t.SEED)  # as the trainer does, right before building the model
    model = build_model(cfg)
    optimizer = build_optimizer(model, t.BASE_LR, t.MOMENTUM, t.WEIGHT_DECAY, cfg.BACKBONE.TRAIN_LAYERS,
                                cfg.BACKBONE.LAYERS_LR)
    scheduler = build_lr_scheduler(cfg, optimizer)
    unfreezer = BackboneUnfreezer(model.backbone, cfg.BACKBONE.TRAIN_LAYERS, cfg.BACKBONE.TRAIN_EPOCH, log=False)
    per_epoch = t.ITERS_PER_EPOCH
    dataset = build_train_dataset(cfg, length=per_epoch * t.BATCH_SIZE * world)
    for step in range(steps):
        epoch, k = divmod(step, per_epoch)
        model.train()
        unfreezer.apply(epoch)
        scheduler.set_epoch(epoch)
        optimizer.zero_grad(set_to_none=True)
        for rank in range(world):
            share = list(EpochSampler(len(dataset), epoch, rank, world))[k * t.BATCH_SIZE:(k + 1) * t.BATCH_SIZE]
            batch = default_collate([dataset[i] for i in share])
            losses = model(batch, cls_weight=t.CLS_WEIGHT, loc_weight=t.LOC_WEIGHT, mask_weight=t.MASK_WEIGHT)
            (losses["total_loss"] / world).backward()
        if t.GRAD_CLIP > 0:
            torch.nn.utils.clip_grad_norm_(model.parameters(), t.GRAD_CLIP)
        optimizer.step()
    return model.state_dict()


def _assert_matches_reference(path, reference):
    got = load_checkpoint(str(path))["state_dict"]
    for k, v in reference.items():
        if "running_" in k or "num_batches_tracked" in k:
            continue  # BatchNorm statistics are per rank (not synchronised), as in the original PySOT
        torch.testing.assert_close(got[k], v, rtol=1e-5, atol=1e-6, msg=f"{k} differs from one process")


@pytest.mark.slow
def test_torchrun_two_processes_equal_one_process_on_the_same_global_batch(data, tmp_path):
    snap = tmp_path / "snap"
    # per_sample: sample i of an epoch is the same whichever process draws it, so one process can
    # rebuild the global batch (the default pysot sampler draws from each process's own global stream,
    # as the original does)
    opts = _opts(data, snap, epochs=2, iters=2, batch=2) + ["DATASET.SAMPLER", "per_sample"]
    proc = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
                           "tools/train.py", "--cfg", CFG, "--device", "cpu", "--opts"] + opts,
                          cwd=REPO, env=_env(), capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    ck = load_checkpoint(str(snap / "latest.pth"))
    assert ck["iteration"] == 4 and ck["world_size"] == 2
    _assert_matches_reference(snap / "latest.pth", _reference_two_ranks(load_cfg(CFG, opts), steps=4))


def _srun(data, snap, port, tmp_path, extra=(), **opts_kw):
    """Two processes with the variables ``srun --ntasks 2`` gives its tasks (no torchrun)."""
    procs = []
    for rank in range(2):
        env = _env(SLURM_PROCID=str(rank), SLURM_NTASKS="2", SLURM_LOCALID=str(rank), SLURM_JOB_ID="4242",
                   SLURM_JOB_NODELIST="localhost", MASTER_PORT=str(port))
        cmd = [sys.executable, "tools/train.py", "--cfg", CFG, "--device", "cpu", "--opts"] + _opts(data, snap,
                                                                                                    **opts_kw) + list(extra)
        log = open(tmp_path / f"rank{rank}.log", "w")
        procs.append(subprocess.Popen(cmd, cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=log,
                                      start_new_session=True))
    return procs


def _wait_all(procs, timeout=300):
    try:
        return [p.wait(timeout=timeout) for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGKILL)


@pytest.mark.slow
def test_srun_tasks_train_as_one_ddp_run(data, tmp_path):
    snap = tmp_path / "snap"
    rcs = _wait_all(_srun(data, snap, _free_port(), tmp_path, epochs=2, iters=2, batch=2,
                          extra=["DATASET.SAMPLER", "per_sample"]))  # as in the torchrun test above
    logs = [(tmp_path / f"rank{r}.log").read_text() for r in range(2)]
    assert rcs == [0, 0], logs[0][-2000:] + logs[1][-2000:]
    assert "2 process(es)" in logs[0]
    ck = load_checkpoint(str(snap / "latest.pth"))
    assert ck["iteration"] == 4 and ck["world_size"] == 2
    opts = _opts(data, snap, epochs=2, iters=2, batch=2) + ["DATASET.SAMPLER", "per_sample"]
    _assert_matches_reference(snap / "latest.pth", _reference_two_ranks(load_cfg(CFG, opts), steps=4))


@pytest.mark.slow
def test_slurm_preemption_signals_every_task_and_resume_is_exact(data, tmp_path):
    """SLURM pre-empting a job sends SIGTERM to every process of every task (workers included)."""
    snap, full = tmp_path / "snap", tmp_path / "full"
    kw = dict(epochs=2, iters=8, batch=2, workers=1)
    procs = _srun(data, snap, _free_port(), tmp_path, **kw)
    log0 = tmp_path / "rank0.log"
    try:
        import time

        deadline = time.time() + 240
        while " it 2/" not in log0.read_text() and time.time() < deadline and procs[0].poll() is None:
            time.sleep(0.1)
        for p in procs:
            os.killpg(p.pid, signal.SIGTERM)
    finally:
        rcs = _wait_all(procs)
    log = log0.read_text()
    assert rcs == [143, 143], log[-3000:]
    assert "Traceback" not in log + (tmp_path / "rank1.log").read_text()
    stopped = _stopped_at(log)
    assert load_checkpoint(str(snap / "latest.pth"))["iteration"] == stopped
    # Resume with the same two tasks: the end equals an uninterrupted two-task run.
    assert _wait_all(_srun(data, snap, _free_port(), tmp_path, **kw)) == [0, 0], log0.read_text()[-3000:]
    assert load_checkpoint(str(snap / "latest.pth"))["iteration"] == 16
    assert _wait_all(_srun(data, full, _free_port(), tmp_path, **kw)) == [0, 0]
    _assert_same_weights(full / "latest.pth", snap / "latest.pth")


@pytest.mark.slow
@pytest.mark.parametrize("sig, target, code", [(signal.SIGTERM, "launcher", 143), (signal.SIGINT, "group", 130)],
                         ids=["sigterm-to-launcher", "ctrl-c"])
def test_interrupted_torchrun_saves_and_exits_with_the_signal(data, tmp_path, sig, target, code):
    """SIGTERM to the launcher alone (a job script's ``kill``), or Ctrl-C in the terminal (the whole group):
    the ranks save the last finished iteration; the launcher exits with the signal's code, no traceback."""
    snap = tmp_path / "snap"
    cmd = [sys.executable, "-m", "pysot.apps.torchrun", "--standalone", "--nproc_per_node", "2", "tools/train.py",
           "--cfg", CFG, "--device", "cpu", "--opts"] + _opts(data, snap, epochs=2, iters=20, workers=1)
    rc, log = _stop_with(cmd, _env(), lambda p: os.killpg(p.pid, sig) if target == "group" else p.send_signal(sig))
    assert rc == code, log[-3000:]
    assert "Traceback" not in log, log[-3000:]
    stopped = _stopped_at(log)
    ck = load_checkpoint(str(snap / "latest.pth"))
    assert ck["iteration"] == stopped and ck["world_size"] == 2


def test_a_malformed_launcher_variable_is_one_line(data, tmp_path, monkeypatch, log_messages):
    from tool_loader import load_tool

    monkeypatch.setenv("SLURM_PROCID", "3")
    monkeypatch.setenv("SLURM_NTASKS", "2")
    rc = load_tool("train").main(["--cfg", CFG, "--device", "cpu", "--opts"] + _opts(data, tmp_path / "snap"))
    assert rc == 2
    assert log_messages[-1] == "SLURM_PROCID=3 is outside the 2 tasks of this step"
