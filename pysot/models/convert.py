"""Parameter-name conversion of foreign checkpoints onto pysot models.

DaSiamRPN's released ``SiamRPNvot.model`` / ``SiamRPNotb.model`` /
``SiamRPNBIG.model`` hold an AlexNet (``featureExtract.N.*``) and an
UP-channel RPN (``conv_cls1``, ``conv_r1``, ``conv_cls2``, ``conv_r2``,
``regress_adjust``). Their tensors are used unchanged; only names change.
"""
from __future__ import annotations

import os
from collections import OrderedDict
from typing import Mapping, Optional, Union

import torch

from pysot.config import CN
from pysot.models.model_builder import build_model
from pysot.utils.checkpoint import atomic_torch_save
from pysot.utils.model_load import CheckpointMismatchError, load_pretrain, read_state_dict, remove_prefix

# Original DaSiamRPN module name -> our UPChannelRPN attribute (under ``rpn_head``).
DASIAMRPN_HEAD_NAMES = {
    "conv_cls1": "rpn_head.template_cls_conv",
    "conv_r1": "rpn_head.template_loc_conv",
    "conv_cls2": "rpn_head.search_cls_conv",
    "conv_r2": "rpn_head.search_loc_conv",
    "regress_adjust": "rpn_head.loc_adjust",
}
DASIAMRPN_BACKBONE_PREFIX = ("featureExtract.", "backbone.features.")


def convert_dasiamrpn(state_dict: Mapping[str, torch.Tensor]) -> "OrderedDict[str, torch.Tensor]":
    """Rename a DaSiamRPN state_dict to the keys of our ``dasiamrpn_*`` experiments.

    ``featureExtract.N.*`` -> ``backbone.features.N.*``, ``conv_cls1`` ->
    ``rpn_head.template_cls_conv`` etc. (see :data:`DASIAMRPN_HEAD_NAMES`).
    Files written before PyTorch 0.4.1 lack BN ``num_batches_tracked``; a zero
    counter is added so that a strict load succeeds (it only matters for
    training with momentum ``None``). A ``module.`` prefix is stripped.
    Raises :class:`CheckpointMismatchError` (a ``KeyError``) naming any key that is not part of a DaSiamRPN network.
    """
    source = remove_prefix(state_dict)
    converted: "OrderedDict[str, torch.Tensor]" = OrderedDict()
    unknown = []
    old_prefix, new_prefix = DASIAMRPN_BACKBONE_PREFIX
    for name, value in source.items():
        if name.startswith(old_prefix):
            converted[new_prefix + name[len(old_prefix):]] = value
            counter = name[: -len("running_var")] + "num_batches_tracked"
            if name.endswith(".running_var") and counter not in source:
                converted[new_prefix + counter[len(old_prefix):]] = torch.zeros((), dtype=torch.long)
            continue
        module, _, param = name.partition(".")
        if module in DASIAMRPN_HEAD_NAMES and param:
            converted[f"{DASIAMRPN_HEAD_NAMES[module]}.{param}"] = value
        else:
            unknown.append(name)
    if unknown:
        more = " ..." if len(unknown) > 5 else ""
        raise CheckpointMismatchError(f"not a DaSiamRPN parameter name: {', '.join(unknown[:5])}{more}")
    return converted


def looks_like_dasiamrpn(state_dict: Mapping[str, object]) -> bool:
    """True when the keys are DaSiamRPN's original names (``featureExtract.*``)."""
    return any(k.startswith(DASIAMRPN_BACKBONE_PREFIX[0]) for k in remove_prefix(state_dict))


def convert_checkpoint(source: Union[str, os.PathLike, Mapping[str, torch.Tensor]], output_path: str, cfg: CN,
                       name: Optional[str] = None) -> "OrderedDict[str, torch.Tensor]":
    """Convert ``source`` (a checkpoint path, or its already-read state_dict) for the model
    ``cfg`` describes, verify it, save it atomically.

    DaSiamRPN names are renamed (:func:`convert_dasiamrpn`); PySOT files only
    lose ``module.`` prefixes. The result must load into ``build_model(cfg)``
    with exactly the model's keys and shapes, else nothing is written and the
    error names the offending keys. The output holds
    ``{"state_dict": ..., "config": <resolved YAML text>}`` (the layout of
    :mod:`pysot.utils.checkpoint`), so the model can be
    rebuilt from the file alone; :func:`pysot.utils.model_load.load_pretrain`
    reads it. ``name`` is how errors call the input (default: its path); give the
    file name when passing a state_dict read from it.
    """
    name = name or (os.fspath(source) if isinstance(source, (str, os.PathLike)) else "state_dict")
    state_dict = read_state_dict(source)
    if looks_like_dasiamrpn(state_dict):
        try:
            state_dict = convert_dasiamrpn(state_dict)
        except CheckpointMismatchError as e:
            raise CheckpointMismatchError(f"{name}: {e}") from None
    model = build_model(cfg)
    load_pretrain(model, state_dict, strict=True, name=name)
    payload = {"state_dict": state_dict, "config": cfg.dump()}
    atomic_torch_save(payload, output_path)
    return state_dict
