"""The training loop: single process (CPU / one GPU) or DDP under torchrun.

Checkpoints (``TRAIN.SNAPSHOT_DIR/checkpoint_e{epoch}.pth`` after each epoch,
``latest.pth`` after each epoch and on an early stop) are written atomically and
hold the config, optimizer, LR schedule and RNG states; :func:`train` with
``resume`` continues from the exact iteration where the checkpoint was taken.
"""
from __future__ import annotations

import inspect
import logging
import numbers
import os
import random
import shutil
import signal
import sys
from typing import Dict, Optional

import numpy as np
import torch
import torch.nn as nn
import yaml
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader
from tqdm import tqdm

from pysot.config import CN
from pysot.datasets.dataset import EpochSampler, build_train_dataset
from pysot.models import build_model
from pysot.training.components import (BackboneUnfreezer, ProgressMeter, StopRequest, build_optimizer,
                                       format_scalars, quiet_worker_signals)
from pysot.utils.checkpoint import (CheckpointError, atomic_torch_save, load_checkpoint, remove_stale_temporaries,
                                    rng_state, set_rng_state)
from pysot.utils.distributed import DistInfo, average_scalars, barrier, init_distributed, shutdown_distributed
from pysot.utils.log import add_file_handler, get_logger, remove_file_handler
from pysot.utils.lr_scheduler import build_lr_scheduler
from pysot.utils.model_load import load_pretrain
from pysot.utils.provenance import format_run_info, run_info
from pysot.utils.threads import loader_workers, use_default_threads

logger = get_logger("pysot.train")

LOSS_KEYS = ("total_loss", "cls_loss", "loc_loss", "mask_loss", "mask_iou")
_STOP_KEY = "_stop_requested"  # averaged with the losses; > 0 when any rank got SIGINT / SIGTERM
_DDP_PARAMETERS = inspect.signature(DistributedDataParallel.__init__).parameters


def seed_everything(seed: int) -> None:
    """Seed Python, numpy's global stream (the ``pysot`` sampler draws from it) and torch, and ask
    cuDNN for deterministic kernels, as the original's ``seed_torch``."""
    random.seed(seed)
    np.random.seed(seed % (2 ** 32))
    torch.manual_seed(seed)
    torch.backends.cudnn.benchmark = False
    torch.backends.cudnn.deterministic = True


def iters_per_epoch(cfg: CN, world_size: int) -> int:
    if cfg.TRAIN.ITERS_PER_EPOCH > 0:
        return int(cfg.TRAIN.ITERS_PER_EPOCH)
    n = cfg.DATASET.VIDEOS_PER_EPOCH // (cfg.TRAIN.BATCH_SIZE * world_size)
    if n < 1:
        raise ValueError(f"DATASET.VIDEOS_PER_EPOCH ({cfg.DATASET.VIDEOS_PER_EPOCH}) is smaller than one batch "
                         f"(TRAIN.BATCH_SIZE {cfg.TRAIN.BATCH_SIZE} x {world_size} processes)")
    return n


def _to_device(batch: Dict[str, torch.Tensor], device: torch.device) -> Dict[str, torch.Tensor]:
    return {k: v.to(device, non_blocking=True) for k, v in batch.items()}


def _load_weights(key: str, model: nn.Module, source, strict: bool = False, name: Optional[str] = None) -> None:
    """``load_pretrain`` whose mismatch errors (wrong keys or shapes) become a :class:`CheckpointError`
    naming the config key the checkpoint came from."""
    try:
        load_pretrain(model, source, strict=strict, name=name)
    except (ValueError, KeyError) as e:
        raise CheckpointError(f"{key}: {e}") from None


def load_pretrained_weights(model: nn.Module, cfg: CN) -> None:
    if cfg.BACKBONE.PRETRAINED:
        logger.info(f"backbone weights from {cfg.BACKBONE.PRETRAINED}")
        _load_weights("BACKBONE.PRETRAINED", model.backbone, cfg.BACKBONE.PRETRAINED)
    if cfg.TRAIN.PRETRAINED:
        logger.info(f"model weights from {cfg.TRAIN.PRETRAINED}")
        _load_weights("TRAIN.PRETRAINED", model, cfg.TRAIN.PRETRAINED)


class CheckpointWriteError(CheckpointError):
    """A checkpoint could not be written (disk full, folder not writable); the previous file is kept."""


def _write_checkpoint(state: Dict, path: str) -> None:
    """:func:`atomic_torch_save`, whose failures become one :class:`CheckpointWriteError` naming the file.

    torch's zip writer reports a failed ``write`` of its file object as a C++
    ``RuntimeError`` (``enforce fail at inline_container.cc``); the ``OSError`` that
    caused it (``ENOSPC`` ...) is its ``__context__``, and that is what the message names.
    """
    try:
        atomic_torch_save(state, path)
    except (OSError, RuntimeError) as e:
        cause: Optional[BaseException] = e
        while cause is not None and not isinstance(cause, OSError):
            cause = cause.__context__
        if cause is None:
            raise  # not an I/O failure: a real bug, keep its traceback
        reason = cause.strerror or str(cause)
        try:
            free = f"; {shutil.disk_usage(os.path.dirname(os.path.abspath(path))).free / 2 ** 20:.0f} MiB free there"
        except OSError:
            free = ""
        kept = "the previous file is kept" if os.path.exists(path) else "nothing was written"
        raise CheckpointWriteError(f"{path}: cannot write checkpoint: {reason}{free}; {kept}") from None


def _brief(value: object) -> str:
    text = repr(value)
    return f"{type(value).__name__} {text[:60]}{'...' if len(text) > 60 else ''}"


class Trainer:
    """Owns the model, optimizer, schedule and data of one run; :meth:`run` trains it.

    Args:
        cfg: the resolved config (saved inside every checkpoint).
        device: ``cpu`` or ``cuda`` (under torchrun, ``cuda:LOCAL_RANK``).
        resume: checkpoint to continue from ('' = start fresh).
        stop_after: stop (saving ``latest.pth``) once this many iterations are done in total.
        allow_schedule_change: resume although the checkpoint's batch (per process x processes) or
            iterations per epoch differ from this run's (warned); refused otherwise.
    """

    def __init__(self, cfg: CN, device: torch.device, resume: str = "", stop_after: Optional[int] = None,
                 allow_schedule_change: bool = False) -> None:
        self.cfg = cfg
        self.allow_schedule_change = bool(allow_schedule_change)
        self.dist: DistInfo = init_distributed(device)
        if device.type == "cuda" and self.dist.distributed:
            device = torch.device("cuda", self.dist.local_rank)
            torch.cuda.set_device(device)
        self.device = device
        self.stop_after = stop_after
        self.stop_signal: Optional[int] = None  # set when SIGINT / SIGTERM ended the run early
        self.log_file: Optional[logging.Handler] = None
        seed_everything(cfg.TRAIN.SEED)
        if self.dist.is_main:
            os.makedirs(cfg.TRAIN.SNAPSHOT_DIR, exist_ok=True)
            for path in remove_stale_temporaries(cfg.TRAIN.SNAPSHOT_DIR):
                logger.info(f"removed {path}, a checkpoint a killed run was writing")
            if cfg.TRAIN.LOG_DIR:
                self.log_file = add_file_handler(os.path.join(cfg.TRAIN.LOG_DIR, "train.log"))
        # Versions, seed, config digest and commit: logged now and stored in every checkpoint.
        self.run_info = run_info(cfg.dump(), cfg.TRAIN.SEED, str(device))
        if self.dist.is_main:
            logger.info(f"run: {format_run_info(self.run_info)}")

        try:
            self._build(resume)
        except BaseException:
            self.close()  # a run that cannot start must not keep writing into its train.log
            raise

    def _build(self, resume: str) -> None:
        cfg, device = self.cfg, self.device
        self.model = build_model(cfg).to(device)
        if not resume:
            load_pretrained_weights(self.model, cfg)
        self._build_optimizer(cfg.TRAIN.START_EPOCH)
        self.unfreezer = BackboneUnfreezer(getattr(self.model, "backbone", None), cfg.BACKBONE.TRAIN_LAYERS,
                                           cfg.BACKBONE.TRAIN_EPOCH, log=self.dist.is_main)
        self.amp = bool(cfg.TRAIN.AMP) and device.type == "cuda"
        if cfg.TRAIN.AMP and not self.amp:
            logger.warning("TRAIN.AMP needs a CUDA device; training in float32")
        self.scaler = torch.amp.GradScaler("cuda", enabled=self.amp)

        self.iters_per_epoch = iters_per_epoch(cfg, self.dist.world_size)
        self.total_iters = self.iters_per_epoch * cfg.TRAIN.EPOCH
        per_epoch = self.iters_per_epoch * cfg.TRAIN.BATCH_SIZE * self.dist.world_size
        self.dataset = build_train_dataset(cfg, length=per_epoch)
        self.iteration = cfg.TRAIN.START_EPOCH * self.iters_per_epoch
        if resume:
            self._resume(resume)
        self.writer = None
        if self.dist.is_main and cfg.TRAIN.LOG_DIR:
            from tensorboardX import SummaryWriter

            # On resume, hide the points the interrupted run logged after its checkpoint,
            # so TensorBoard shows one curve instead of two overlapping ones.
            self.writer = SummaryWriter(cfg.TRAIN.LOG_DIR, purge_step=self.iteration + 1 if resume else None)
        self.ddp_model: nn.Module = self.model

    def _build_optimizer(self, epoch: int) -> None:
        """A new SGD and LR schedule for the parameters that train at ``epoch``.

        Called at the start and again when the backbone unfreezes (``BACKBONE.TRAIN_EPOCH``), as the
        original PySOT's ``build_opt_lr`` is: the new optimizer has no momentum yet.
        """
        cfg = self.cfg
        self.backbone_trains = epoch >= cfg.BACKBONE.TRAIN_EPOCH
        self.optimizer = build_optimizer(self.model, cfg.TRAIN.BASE_LR, cfg.TRAIN.MOMENTUM, cfg.TRAIN.WEIGHT_DECAY,
                                         cfg.BACKBONE.TRAIN_LAYERS, cfg.BACKBONE.LAYERS_LR,
                                         train_backbone=self.backbone_trains)
        self.scheduler = build_lr_scheduler(cfg, self.optimizer)
        self.scheduler.set_epoch(epoch)

    def close(self) -> None:
        """Stop writing this run's ``train.log`` (the logger outlives the run in a notebook)."""
        if self.log_file is not None:
            remove_file_handler(self.log_file)
            self.log_file = None

    # ------------------------------------------------------------------ checkpoints
    def _resume(self, path: str) -> None:
        ckpt = load_checkpoint(path, map_location=self.device)
        missing = [k for k in ("iteration", "state_dict", "optimizer") if k not in ckpt]
        if missing:
            raise CheckpointError(f"{path}: not a training checkpoint (missing {', '.join(missing)}); "
                                  "start a new run from its weights with TRAIN.PRETRAINED instead")
        iteration = ckpt["iteration"]
        if isinstance(iteration, torch.Tensor) and iteration.numel() == 1 and not iteration.is_floating_point():
            iteration = int(iteration)
        if not isinstance(iteration, numbers.Integral) or isinstance(iteration, bool) or iteration < 0:
            raise CheckpointError(f"{path}: malformed 'iteration' field ({_brief(ckpt['iteration'])}); "
                                  "expected a count >= 0")
        self._check_schedule(path, ckpt)
        # Names a checkpoint of another network briefly (file, keys, shapes) instead of torch's full list.
        _load_weights("--resume", self.model, ckpt["state_dict"], strict=True, name=path)
        epoch = self.epoch_of(int(iteration))
        self._build_optimizer(epoch)
        if ckpt.get("backbone_trains", self.backbone_trains) != self.backbone_trains:
            # Saved just before the backbone unfreezes: the original starts a new optimizer there.
            logger.info(f"{path}: the backbone starts training at this epoch; new optimizer, as the original")
        else:
            self._load_optimizer_state(path, ckpt)
        self._resume_rest(path, ckpt, int(iteration))

    def _load_optimizer_state(self, path: str, ckpt: Dict) -> None:
        try:
            self.optimizer.load_state_dict(ckpt["optimizer"])
        except ValueError as e:
            raise CheckpointError(f"{path}: its optimizer state does not fit this run's parameter groups ({e}); "
                                  "was BACKBONE.TRAIN_LAYERS changed?") from None
        except (TypeError, KeyError, AttributeError, IndexError, RuntimeError) as e:
            raise CheckpointError(f"{path}: malformed 'optimizer' field ({type(e).__name__}: {e})") from None

    def _resume_rest(self, path: str, ckpt: Dict, iteration: int) -> None:
        if "scaler" in ckpt and self.amp:
            try:
                self.scaler.load_state_dict(ckpt["scaler"])
            except (TypeError, KeyError, AttributeError, ValueError, RuntimeError) as e:
                raise CheckpointError(f"{path}: malformed 'scaler' field ({type(e).__name__}: {e})") from None
        self.iteration = int(iteration)
        if "rng" in ckpt:
            if self.dist.world_size == ckpt.get("world_size", 1):
                try:
                    set_rng_state(ckpt["rng"])
                except (TypeError, KeyError, AttributeError, ValueError, IndexError, RuntimeError) as e:
                    raise CheckpointError(f"{path}: malformed 'rng' field ({type(e).__name__}: {e}); "
                                          "the run could not continue with the same random draws") from None
            else:
                logger.warning(f"{path} was written by {ckpt.get('world_size', 1)} process(es), this run has "
                               f"{self.dist.world_size}: random draws (augmentation) do not continue exactly")
        logger.info(f"resumed from {path} at iteration {self.iteration} (epoch {self.epoch_of(self.iteration) + 1})")

    def _check_schedule(self, path: str, ckpt: Dict) -> None:
        """Refuse (or, with ``allow_schedule_change``, warn about) a resume whose batch or epoch length differs.

        The iteration count only means the same point of training under the same
        schedule: with another batch the sampler would skip other samples, with another
        epoch length the LR schedule and the backbone unfreezing would move.
        """
        saved_batch = ckpt.get("batch_size")
        if saved_batch is None:  # checkpoints written before the field existed: read their config
            try:
                saved_batch = (yaml.safe_load(ckpt.get("config") or "") or {})["TRAIN"]["BATCH_SIZE"]
            except (yaml.YAMLError, TypeError, KeyError):
                saved_batch = None
        saved_world = ckpt.get("world_size", 1)
        changes = []
        if saved_batch is not None and (saved_batch, saved_world) != (self.cfg.TRAIN.BATCH_SIZE,
                                                                     self.dist.world_size):
            changes.append(f"batch {saved_batch} x {saved_world} process(es) in the checkpoint, "
                           f"{self.cfg.TRAIN.BATCH_SIZE} x {self.dist.world_size} in this run")
        saved_iters = ckpt.get("iters_per_epoch")
        if saved_iters is not None and saved_iters != self.iters_per_epoch:
            changes.append(f"{saved_iters} iterations per epoch in the checkpoint, {self.iters_per_epoch} "
                           "in this run")
        if not changes:
            return
        what = "; ".join(changes)
        if not self.allow_schedule_change:
            raise CheckpointError(f"{path}: resuming with another schedule: {what}; resume with the checkpoint's "
                                  "TRAIN.BATCH_SIZE / TRAIN.ITERS_PER_EPOCH / process count, or accept the change "
                                  "with --allow-schedule-change")
        logger.warning(f"{path}: schedule changed on resume ({what}); continuing at iteration "
                       f"{int(ckpt['iteration'])} of the new schedule")

    def epoch_of(self, iteration: int) -> int:
        return iteration // self.iters_per_epoch

    def save(self, name: str) -> str:
        path = os.path.join(self.cfg.TRAIN.SNAPSHOT_DIR, name)
        if self.dist.is_main:
            _write_checkpoint({
                "epoch": self.epoch_of(self.iteration),
                "iteration": self.iteration,
                "iters_per_epoch": self.iters_per_epoch,
                "batch_size": self.cfg.TRAIN.BATCH_SIZE,
                "world_size": self.dist.world_size,
                "state_dict": self.model.state_dict(),
                "optimizer": self.optimizer.state_dict(),
                "backbone_trains": self.backbone_trains,
                "lr_scheduler": self.scheduler.state_dict(),
                "scaler": self.scaler.state_dict(),
                "config": self.cfg.dump(),
                "run_info": self.run_info,
                "rng": rng_state(),
            }, path)
        return path

    # ------------------------------------------------------------------ loop
    def _wrap(self) -> None:
        if self.dist.distributed:
            ids = [self.device.index] if self.device.type == "cuda" else None
            # A SiamMask batch without mask labels leaves the mask head unused.
            unused = bool(getattr(self.model, "has_mask", False))
            # Rank-local BN statistics, not rank 0's at every forward (torch >= 2.14 renamed the switch
            # and warns on the old one).
            no_buffer_sync = ({"forward_sync_buffers": False} if "forward_sync_buffers" in _DDP_PARAMETERS
                              else {"broadcast_buffers": False})
            self.ddp_model = DistributedDataParallel(self.model, device_ids=ids, find_unused_parameters=unused,
                                                     **no_buffer_sync)
        else:
            self.ddp_model = self.model

    def _loader(self, epoch: int, start: int) -> DataLoader:
        sampler = EpochSampler(len(self.dataset), epoch, self.dist.rank, self.dist.world_size,
                               start=start * self.cfg.TRAIN.BATCH_SIZE)
        return DataLoader(self.dataset, batch_size=self.cfg.TRAIN.BATCH_SIZE, sampler=sampler,
                          num_workers=loader_workers(self.cfg.TRAIN.NUM_WORKERS, self.dist.world_size), drop_last=True,
                          pin_memory=self.device.type == "cuda", worker_init_fn=quiet_worker_signals)

    def _step(self, batch: Dict[str, torch.Tensor]) -> Dict[str, float]:
        t = self.cfg.TRAIN
        with torch.autocast(self.device.type, enabled=self.amp):
            losses = self.ddp_model(batch, cls_weight=t.CLS_WEIGHT, loc_weight=t.LOC_WEIGHT,
                                    mask_weight=t.MASK_WEIGHT)
        total = losses["total_loss"]
        if not torch.isfinite(total):
            raise FloatingPointError(f"loss is {total.item()} at iteration {self.iteration}; "
                                     "lower TRAIN.BASE_LR or check the data")
        self.optimizer.zero_grad(set_to_none=True)
        self.scaler.scale(total).backward()
        if t.GRAD_CLIP > 0:
            self.scaler.unscale_(self.optimizer)
            nn.utils.clip_grad_norm_(self.model.parameters(), t.GRAD_CLIP)
        self.scaler.step(self.optimizer)
        self.scaler.update()
        return {k: float(v.detach()) for k, v in losses.items()}

    def run(self) -> int:
        """Train until the last epoch (or ``stop_after``); returns the iteration count reached."""
        cfg = self.cfg
        end = self.total_iters if self.stop_after is None else min(self.total_iters, self.stop_after)
        meter = ProgressMeter(end, self.iteration)
        # Off when stderr is not a terminal (nohup, CI): the periodic log line carries the ETA.
        bar = tqdm(total=end, initial=self.iteration, desc="train", unit="it",
                   disable=not (self.dist.is_main and sys.stderr.isatty()),
                   dynamic_ncols=True, leave=False)
        if self.dist.is_main:
            logger.info(f"{self.dist.world_size} process(es) on {self.device}, {self.iters_per_epoch} it/epoch x "
                        f"{cfg.TRAIN.EPOCH} epochs, batch {cfg.TRAIN.BATCH_SIZE}/process")
        stopped = False
        with StopRequest(log=self.dist.is_main) as stop:
            try:
                while self.iteration < end and not stopped:
                    epoch = self.epoch_of(self.iteration)
                    self.model.train()
                    # DDP is (re)built once, and again only when the backbone's trainable set changes.
                    if self.unfreezer.apply(epoch) or self.ddp_model is self.model:
                        self._wrap()
                    if (epoch >= cfg.BACKBONE.TRAIN_EPOCH) != self.backbone_trains:
                        self._build_optimizer(epoch)
                    lr = self.scheduler.set_epoch(epoch)
                    start = self.iteration - epoch * self.iters_per_epoch
                    for batch in self._loader(epoch, start):
                        values = self._step(_to_device(batch, self.device))
                        self.iteration += 1
                        bar.update(1)
                        # The stop request rides on the loss all-reduce: one collective per step, and
                        # every rank leaves the loop at the same iteration when any rank was signalled.
                        values[_STOP_KEY] = 1.0 if stop.requested else 0.0
                        values = average_scalars(values, self.dist, self.device)
                        stopped = values.pop(_STOP_KEY) > 0
                        meter.update(values)
                        if self.writer is not None:
                            for k, v in values.items():
                                self.writer.add_scalar(f"train/{k}", v, self.iteration)
                            self.writer.add_scalar("train/lr", lr, self.iteration)
                        if self.dist.is_main and (self.iteration % cfg.TRAIN.PRINT_FREQ == 0
                                                  or self.iteration == end):
                            logger.info(f"epoch {epoch + 1} it {self.iteration}/{self.total_iters} lr={lr:.2e} "
                                        f"{format_scalars(meter.averages(), LOSS_KEYS)} "
                                        f"eta {meter.eta(self.iteration)}")
                            meter.reset()
                        if stopped:
                            self.stop_signal = stop.signum or signal.SIGTERM  # another rank's signal
                        if stopped or self.iteration >= end or self.iteration % self.iters_per_epoch == 0:
                            break
                    # latest.pth first: whenever checkpoint_e{n} exists, latest.pth is at least as recent.
                    self.save("latest.pth")
                    if self.iteration % self.iters_per_epoch == 0:
                        self.save(f"checkpoint_e{self.epoch_of(self.iteration)}.pth")
                    barrier(self.dist)
            finally:
                bar.close()
                if self.writer is not None:
                    self.writer.close()
        if self.dist.is_main and stopped:
            latest = os.path.join(cfg.TRAIN.SNAPSHOT_DIR, "latest.pth")
            logger.info(f"stopped at iteration {self.iteration}; continue with --resume {latest}")
        elif self.dist.is_main:
            logger.info(f"done at iteration {self.iteration}; checkpoints in {cfg.TRAIN.SNAPSHOT_DIR}")
        return self.iteration


def train(cfg: CN, device: str = "cpu", resume: str = "", stop_after: Optional[int] = None,
          exit_on_signal: bool = False, allow_schedule_change: bool = False) -> int:
    """Build a :class:`Trainer` and run it; tears the process group down afterwards.

    The first call in a process picks torch's CPU threads for a shared machine unless the caller
    chose them. Returns the iteration reached. A run stopped by Ctrl-C / SIGTERM (saved, resumable) returns
    normally too, unless ``exit_on_signal``: then it exits with the shell's code for that
    signal (130 / 143), so ``train.py && test.py`` does not go on after an interruption.
    """
    trainer = None
    use_default_threads()  # pysot.utils.threads: never over the caller's --threads / OMP_NUM_THREADS
    try:
        trainer = Trainer(cfg, torch.device(device), resume=resume or cfg.TRAIN.RESUME, stop_after=stop_after,
                          allow_schedule_change=allow_schedule_change)
        iteration = trainer.run()
    finally:
        if trainer is not None:
            trainer.close()
        shutdown_distributed()
    if exit_on_signal and trainer.stop_signal is not None:
        raise SystemExit(128 + int(trainer.stop_signal))
    return iteration
