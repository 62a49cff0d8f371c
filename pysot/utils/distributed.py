"""Thin helpers over ``torch.distributed``: launcher detection, rank queries, loss averaging.

Three ways to start a run, recognised from the environment:

* ``torchrun`` (any ``--nproc_per_node`` / ``--nnodes``): ``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``
  and the rendezvous address ``MASTER_ADDR`` / ``MASTER_PORT`` are set by the launcher;
* SLURM's ``srun`` (one task per process): ``SLURM_PROCID``, ``SLURM_NTASKS`` (or
  ``SLURM_STEP_NUM_TASKS``), ``SLURM_LOCALID``; the master is the first host of
  ``SLURM_STEP_NODELIST`` / ``SLURM_JOB_NODELIST`` unless ``MASTER_ADDR`` is set, and the port
  ``MASTER_PORT`` or one derived from ``SLURM_JOB_ID`` (every task of a job derives the same);
* neither: a single process.

The backend is chosen from the device: nccl on CUDA, gloo on the CPU.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import Dict, List, Mapping, Optional

import torch
import torch.distributed as dist

from pysot.utils.log import get_logger


class LaunchError(ValueError):
    """The launcher's environment is inconsistent (named variable, its value)."""


@dataclass
class DistInfo:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    launcher: str = "none"  # "torchrun", "slurm" or "none"

    @property
    def distributed(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0


@dataclass
class LaunchEnv:
    """What the launcher's environment says about this process (see :func:`detect_launch`)."""

    info: DistInfo
    master_addr: Optional[str] = None
    master_port: Optional[int] = None


def launched_by_torchrun(env: Optional[Mapping[str, str]] = None) -> bool:
    env = os.environ if env is None else env
    return all(k in env for k in ("RANK", "WORLD_SIZE", "LOCAL_RANK"))


def launched_by_srun(env: Optional[Mapping[str, str]] = None) -> bool:
    env = os.environ if env is None else env
    return "SLURM_PROCID" in env and ("SLURM_STEP_NUM_TASKS" in env or "SLURM_NTASKS" in env)


def expand_nodelist(nodelist: str) -> List[str]:
    """SLURM's compressed host list as host names: ``"gpu[01-03,7],cpu-a"`` ->
    ``["gpu01", "gpu02", "gpu03", "gpu7", "cpu-a"]`` (zero padding kept; several bracket groups
    in one name, ``"r[1-2]n[3-4]"``, expand as their product)."""
    hosts: List[str] = []
    for item in re.findall(r"(?:[^,\[]|\[[^\]]*\])+", nodelist.strip()):
        names = [""]
        for text, ranges in re.findall(r"([^\[]*)(?:\[([^\]]*)\])?", item):
            names = [n + text for n in names]
            if ranges:
                values = []
                for part in ranges.split(","):
                    lo, _, hi = part.partition("-")
                    if not lo.isdigit() or (hi and not hi.isdigit()):
                        raise LaunchError(f"SLURM node list {nodelist!r}: cannot read the range {part!r}")
                    values += [str(v).zfill(len(lo)) for v in range(int(lo), int(hi or lo) + 1)]
                names = [n + v for n in names for v in values]
        hosts += [n for n in names if n]
    return hosts


def _int(env: Mapping[str, str], key: str) -> int:
    value = env[key]
    try:
        return int(value.split("(")[0])  # SLURM writes counts like "4(x2)" in some variables
    except ValueError:
        raise LaunchError(f"environment variable {key}={value!r} is not a whole number") from None


def detect_launch(env: Optional[Mapping[str, str]] = None) -> LaunchEnv:
    """Rank, world size, local rank and rendezvous address from torchrun's or srun's variables.

    torchrun wins when both are present (``srun torchrun ...``: torchrun's ranks are the
    processes). A world of one is a single process whatever launched it.
    """
    env = os.environ if env is None else env
    if launched_by_torchrun(env):
        info = DistInfo(_int(env, "RANK"), _int(env, "WORLD_SIZE"), _int(env, "LOCAL_RANK"), "torchrun")
        return LaunchEnv(info, env.get("MASTER_ADDR"), _int(env, "MASTER_PORT") if "MASTER_PORT" in env else None)
    if launched_by_srun(env):
        world = _int(env, "SLURM_STEP_NUM_TASKS" if "SLURM_STEP_NUM_TASKS" in env else "SLURM_NTASKS")
        rank = _int(env, "SLURM_PROCID")
        local = _int(env, "SLURM_LOCALID") if "SLURM_LOCALID" in env else 0
        if not 0 <= rank < world:
            raise LaunchError(f"SLURM_PROCID={rank} is outside the {world} tasks of this step")
        addr = env.get("MASTER_ADDR")
        if addr is None:
            nodes = env.get("SLURM_STEP_NODELIST") or env.get("SLURM_JOB_NODELIST") or env.get("SLURM_NODELIST")
            hosts = expand_nodelist(nodes) if nodes else []
            addr = hosts[0] if hosts else "127.0.0.1"
        if "MASTER_PORT" in env:
            port = _int(env, "MASTER_PORT")
        else:
            # Every task of a job derives the same port; two jobs sharing a node get different ones.
            job = _int(env, "SLURM_JOB_ID") if "SLURM_JOB_ID" in env else 0
            port = 15000 + job % 20000
        return LaunchEnv(DistInfo(rank, world, local, "slurm"), addr, port)
    return LaunchEnv(DistInfo())


def backend_for(device: torch.device) -> str:
    return "nccl" if device.type == "cuda" else "gloo"


def init_distributed(device: torch.device) -> DistInfo:
    """Join the process group when started by torchrun or srun (gloo on CPU, nccl on CUDA)."""
    launch = detect_launch()
    info = launch.info
    if info.world_size > 1 and not dist.is_initialized():
        if info.launcher == "slurm":
            # env:// reads these; srun sets none of them.
            os.environ.update(MASTER_ADDR=str(launch.master_addr), MASTER_PORT=str(launch.master_port),
                              RANK=str(info.rank), WORLD_SIZE=str(info.world_size), LOCAL_RANK=str(info.local_rank))
            if info.is_main:
                # Said before the rendezvous: `python train.py` typed in an sbatch script without srun
                # would wait here for tasks that never start.
                get_logger("pysot.train").info(
                    f"SLURM: waiting for {info.world_size} tasks at {launch.master_addr}:{launch.master_port} "
                    "(start them with srun)")
        dist.init_process_group(backend=backend_for(device), init_method="env://", rank=info.rank,
                                world_size=info.world_size)
    return info


def shutdown_distributed() -> None:
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


def average_scalars(values: Dict[str, float], info: DistInfo, device: torch.device) -> Dict[str, float]:
    """Mean of each scalar over all ranks (for logging only)."""
    if not info.distributed or not values:
        return dict(values)
    keys = sorted(values)
    t = torch.tensor([float(values[k]) for k in keys], dtype=torch.float64, device=device)
    dist.all_reduce(t)
    t /= info.world_size
    return {k: float(v) for k, v in zip(keys, t.tolist())}


def barrier(info: DistInfo) -> None:
    if info.distributed:
        dist.barrier()
