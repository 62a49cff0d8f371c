"""pysot.utils.model_load.load_pretrain: checkpoint layouts and clear errors."""
import logging

import pytest
import torch
import torch.nn as nn

from pysot.utils.model_load import CheckpointMismatchError, load_pretrain, read_state_dict


class Tiny(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)
        self.bn = nn.BatchNorm2d(4)


def _weights():
    source = Tiny()
    with torch.no_grad():
        for p in source.parameters():
            p.uniform_(-1, 1)
    return source.state_dict()


@pytest.mark.parametrize("wrap", ["bare", "state_dict", "model", "module_prefix", "file"])
def test_layouts_load_the_same_tensors(wrap, tmp_path):
    weights = _weights()
    if wrap == "state_dict":
        source = {"state_dict": weights, "epoch": 3}
    elif wrap == "model":
        source = {"model": weights}
    elif wrap == "module_prefix":
        source = {"state_dict": {"module." + k: v for k, v in weights.items()}}
    elif wrap == "file":
        source = str(tmp_path / "w.pth")
        torch.save({"state_dict": weights}, source)
    else:
        source = weights
    model = load_pretrain(Tiny(), source, strict=True)
    torch.testing.assert_close(model.conv.weight, weights["conv.weight"])
    torch.testing.assert_close(model.bn.running_var, weights["bn.running_var"])


def test_missing_and_unexpected_keys(caplog):
    weights = _weights()
    del weights["bn.weight"]
    weights["extra.weight"] = torch.zeros(1)
    with pytest.raises(CheckpointMismatchError, match=r"missing 1: bn.weight; unexpected 1: extra.weight"):
        load_pretrain(Tiny(), weights, strict=True)
    logging.getLogger("pysot").propagate = True  # let caplog see the package logger
    try:
        with caplog.at_level(logging.WARNING, logger="pysot"):
            model = load_pretrain(Tiny(), weights)
    finally:
        logging.getLogger("pysot").propagate = False
    assert "missing 1 keys" in caplog.text and "unexpected 1 keys" in caplog.text
    torch.testing.assert_close(model.conv.weight, weights["conv.weight"])


def test_old_files_without_batch_counters_load_strictly():
    weights = {k: v for k, v in _weights().items() if not k.endswith("num_batches_tracked")}
    load_pretrain(Tiny(), weights, strict=True)


def test_shape_mismatch_names_the_key():
    weights = _weights()
    weights["conv.weight"] = torch.zeros(4, 3, 5, 5)
    with pytest.raises(ValueError, match=r"conv.weight: checkpoint \(4, 3, 5, 5\) vs model \(4, 3, 3, 3\)"):
        load_pretrain(Tiny(), weights)


def test_mismatch_errors_name_the_file(tmp_path):
    weights = _weights()
    weights["conv.weight"] = torch.zeros(4, 3, 5, 5)
    path = str(tmp_path / "wrong_shape.pth")
    torch.save(weights, path)
    with pytest.raises(ValueError, match=r"wrong_shape.pth: shape mismatch: conv.weight"):
        load_pretrain(Tiny(), path)
    weights = _weights()
    weights["extra.weight"] = torch.zeros(1)
    path = str(tmp_path / "extra_key.pth")
    torch.save(weights, path)
    with pytest.raises(CheckpointMismatchError, match=r"extra_key.pth: checkpoint does not match"):
        load_pretrain(Tiny(), path, strict=True)


def test_missing_and_unreadable_files(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.pth"):
        load_pretrain(Tiny(), str(tmp_path / "nope.pth"))
    broken = tmp_path / "broken.pth"
    broken.write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match="broken.pth"):
        read_state_dict(str(broken))
    with pytest.raises(ValueError, match="holds no tensors"):
        read_state_dict({"epoch": 1})


def test_a_checkpoint_of_another_network_is_refused_even_when_not_strict(tmp_path):
    path = str(tmp_path / "other_net.pth")
    torch.save({"state_dict": {"backbone.conv.weight": torch.zeros(4, 3, 3, 3)}}, path)
    with pytest.raises(CheckpointMismatchError, match=r"other_net.pth: none of its 1 tensors belongs to the model"):
        load_pretrain(Tiny(), path)


def test_unreadable_file_error_says_what_failed(tmp_path):
    text = tmp_path / "notes.pth"
    text.write_text("hello")
    with pytest.raises(ValueError, match=r"notes.pth: cannot be read as a PyTorch checkpoint \(\w+Error"):
        load_pretrain(Tiny(), str(text))
