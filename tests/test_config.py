"""Config schema compatibility and the errors a bad config gives."""
import glob
import os

import pytest

from parity import PYSOT_FIXTURES, load_fixture
from pysot.config import ConfigError, get_cfg, load_cfg
from pysot.models import build_model

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXPERIMENTS = os.path.join(REPO, "experiments")
TRAINING_KEYS = ("TRAIN.", "DATASET.", "BACKBONE.TRAIN_LAYERS", "BACKBONE.LAYERS_LR", "BACKBONE.TRAIN_EPOCH",
                 "BACKBONE.PRETRAINED")


def _flat(node, prefix=""):
    out = {}
    for key, value in node.items():
        if isinstance(value, dict):
            out.update(_flat(value, f"{prefix}{key}."))
        else:
            out[prefix + key] = value
    return out


def _from_text(text):
    cfg = get_cfg()
    cfg.merge_from_other_cfg(cfg.load_cfg(text))
    return cfg


@pytest.mark.parametrize("name", PYSOT_FIXTURES + ["siamrpn_alex_dwxcorr_otb"])
def test_experiment_yaml_equals_the_original_after_merge(name):
    original = _from_text(load_fixture(name.replace("_otb", "") if "alex" in name else name)["config"])
    ours = load_cfg(os.path.join(EXPERIMENTS, name, "config.yaml"))
    ours.pop("CONFIG_FILE")
    # The fixtures carry the model and tracker sections only; an experiment may add training settings.
    a, b = _flat(original), _flat(ours)
    compared = [k for k in set(a) | set(b) if not k.startswith(TRAINING_KEYS)]
    assert {k: (a.get(k), b.get(k)) for k in compared if a.get(k) != b.get(k)} == {}


@pytest.mark.parametrize("name", ["dasiamrpn_vot", "dasiamrpn_big"])
def test_dasiamrpn_yaml_carries_the_release_tracker_settings(name):
    params = load_fixture(name)["tracker_params"]
    cfg = load_cfg(os.path.join(EXPERIMENTS, name, "config.yaml"))
    assert cfg.TRACK.TYPE == "DaSiamRPNTracker"
    assert (cfg.TRACK.LR, cfg.TRACK.WINDOW_INFLUENCE, cfg.TRACK.PENALTY_K) == (
        params["lr"], params["window_influence"], params["penalty_k"])
    assert cfg.TRACK.INSTANCE_SIZE == params["instance_size"] and cfg.TRACK.EXEMPLAR_SIZE == params["exemplar_size"]
    assert cfg.TRACK.SMALL_OBJECT_INSTANCE_SIZE == (params["small_object_instance_size"] if params["adaptive"] else 0)
    assert list(cfg.ANCHOR.RATIOS) == params["ratios"] and list(cfg.ANCHOR.SCALES) == params["scales"]
    assert cfg.TRACK.LEGACY_ROUNDING and not cfg.TRACK.DISTRACTOR.ENABLE and not cfg.TRACK.GLOBAL_SEARCH.ENABLE


def test_long_term_informational_keys_merge():
    cfg = load_cfg(os.path.join(EXPERIMENTS, "siamrpn_r50_l234_dwxcorr_lt", "config.yaml"))
    assert list(cfg.BACKBONE.CHANNELS) == [512, 1024, 2048]
    assert list(cfg.ADJUST.ADJUST_CHANNEL) == [128, 256, 512]
    assert cfg.RPN.WEIGHTED is True


def test_original_mask_threshold_spelling_merges():
    assert load_cfg(os.path.join(EXPERIMENTS, "siammask_r50_l3", "config.yaml")).TRACK.MASK_THERSHOLD == 0.15


def _write(tmp_path, text):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    return str(path)


def test_unknown_type_names_key_and_file(tmp_path):
    path = _write(tmp_path, "BACKBONE:\n  TYPE: resnet51\n")
    with pytest.raises(ConfigError, match=rf"{path}: BACKBONE.TYPE: no 'resnet51' in the backbones registry"):
        build_model(load_cfg(path))


def test_wrong_kwargs_name_key_and_file(tmp_path):
    path = _write(tmp_path, "ADJUST:\n  ADJUST: False\n"
                            "RPN:\n  KWARGS:\n    anchor_num: 5\n    in_channel: [256, 256, 256]\n")
    with pytest.raises(ConfigError, match=rf"{path}: RPN.KWARGS: MultiRPN does not take in_channel"):
        build_model(load_cfg(path))
    path = _write(tmp_path, "BACKBONE:\n  KWARGS:\n    used_layers: [2, 9]\n")
    with pytest.raises(ConfigError, match=rf"{path}: BACKBONE.KWARGS \(resnet50\): used_layers must be"):
        build_model(load_cfg(path))


def test_unknown_key_and_missing_file(tmp_path):
    path = _write(tmp_path, "TRACK:\n  PENALTY: 0.1\n")
    with pytest.raises(ConfigError, match=rf"{path}: .*TRACK.PENALTY"):
        load_cfg(path)
    with pytest.raises(ConfigError, match="config file not found: .*missing.yaml"):
        load_cfg(str(tmp_path / "missing.yaml"))
    base = _write(tmp_path, "_BASE_: nowhere.yaml\n")
    with pytest.raises(ConfigError, match="nowhere.yaml"):
        load_cfg(base)


def test_every_experiment_yaml_loads():
    paths = sorted(glob.glob(os.path.join(EXPERIMENTS, "*", "config.yaml")))
    assert len(paths) >= 11
    for path in paths:
        load_cfg(path)
