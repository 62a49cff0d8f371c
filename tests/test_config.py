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


def test_base_errors_name_the_including_file(tmp_path):
    child = tmp_path / "child.yaml"
    child.write_text("_BASE_: nowhere.yaml\n")
    with pytest.raises(ConfigError, match=rf"{child}: _BASE_: config file not found: .*nowhere.yaml"):
        load_cfg(str(child))
    (tmp_path / "a.yaml").write_text("_BASE_: b.yaml\n")
    (tmp_path / "b.yaml").write_text("_BASE_: a.yaml\n")
    with pytest.raises(ConfigError, match=r"b.yaml: _BASE_ makes a cycle: .*a.yaml -> .*b.yaml -> .*a.yaml"):
        load_cfg(str(tmp_path / "a.yaml"))


def test_a_scalar_for_a_section_is_named_briefly(tmp_path):
    path = _write(tmp_path, "TRACK: 3\n")
    with pytest.raises(ConfigError, match=rf"{path}: TRACK is a section of keys .*got 3$"):
        load_cfg(path)


def test_integers_for_float_keys_and_empty_sections(tmp_path):
    base = os.path.join(EXPERIMENTS, "siamrpn_alex_dwxcorr", "config.yaml")
    path = _write(tmp_path, f"_BASE_: {base}\nTRACK:\n  LR: 1\nTRAIN:\n  LR:\n    KWARGS:\n")
    cfg = load_cfg(path, ["TRAIN.BASE_LR", "1", "TRACK.PENALTY_K", 0])
    assert cfg.TRACK.LR == 1.0 and isinstance(cfg.TRACK.LR, float)
    assert cfg.TRAIN.BASE_LR == 1.0 and isinstance(cfg.TRAIN.BASE_LR, float)
    assert cfg.TRACK.PENALTY_K == 0.0 and isinstance(cfg.TRACK.PENALTY_K, float)
    assert dict(cfg.TRAIN.LR.KWARGS) == {}
    # Only int -> float is lenient: other mismatches still name file and key.
    with pytest.raises(ConfigError, match=r"command-line override: .*TRAIN.EPOCH"):
        load_cfg(path, ["TRAIN.EPOCH", "2.5"])
    with pytest.raises(ConfigError, match=rf"{path}: .*TRACK.LR"):
        load_cfg(_write(tmp_path, "TRACK:\n  LR: fast\n"))


def test_a_config_dumped_by_load_cfg_loads_again(tmp_path):
    cfg = load_cfg(os.path.join(EXPERIMENTS, "siamrpn_alex_tiny", "config.yaml"), ["TRACK.LR", "0.25"])
    saved = tmp_path / "from_checkpoint.yaml"
    saved.write_text(cfg.dump())  # what every training checkpoint stores under "config"
    again = load_cfg(str(saved))
    assert again.TRACK.LR == 0.25 and again.CONFIG_FILE == str(saved)
    assert again.BACKBONE.KWARGS.width_mult == cfg.BACKBONE.KWARGS.width_mult


def test_merge_from_file_follows_base_as_in_the_readme(tmp_path):
    # The original PySOT idiom, on an experiment that inherits its model from configs/ via _BASE_.
    cfg = get_cfg()
    path = os.path.join(EXPERIMENTS, "siamrpn_r50_l234_dwxcorr", "config.yaml")
    cfg.merge_from_file(path)
    assert cfg.BACKBONE.TYPE == "resnet50" and list(cfg.BACKBONE.KWARGS.used_layers) == [2, 3, 4]
    assert cfg.CONFIG_FILE == path
    expected = load_cfg(path)
    assert cfg.dump() == expected.dump()
    with pytest.raises(ConfigError, match=r"bad.yaml: .*TRACK.PENALTY"):
        get_cfg().merge_from_file(_write(tmp_path, "TRACK:\n  PENALTY: 0.1\n"))


@pytest.mark.parametrize("text, key, match", [
    ("TRACK:\n  EXEMPLAR_SIZE: 0\n", "TRACK.EXEMPLAR_SIZE", r"0 is out of range \(must be in \(0, 4096\]\)"),
    ("ANCHOR:\n  STRIDE: 0\n", "ANCHOR.STRIDE", r"must be in \(0, 64\]"),
    ("TRACK:\n  CONTEXT_AMOUNT: -0.5\n", "TRACK.CONTEXT_AMOUNT", r"must be in \[0, 10\]"),
    ("TRACK:\n  LR: -1\n", "TRACK.LR", r"must be in \[0, 1\]"),
    ("TRACK:\n  WINDOW_INFLUENCE: 2\n", "TRACK.WINDOW_INFLUENCE", r"must be in \[0, 1\]"),
    ("TRACK:\n  LR: .nan\n", "TRACK.LR", "not a finite number"),
    ("TRAIN:\n  BASE_LR: .inf\n", "TRAIN.BASE_LR", "not a finite number"),
    ("ANCHOR:\n  RATIOS: [0.5, -1]\n", "ANCHOR.RATIOS", r"must be in \(0, 100\]"),
    ("ANCHOR:\n  SCALES: []\n", "ANCHOR.SCALES", "at least one value"),
    ("TRACK:\n  INSTANCE_SIZE: 100\n", "TRACK.INSTANCE_SIZE", "smaller than TRACK.EXEMPLAR_SIZE"),
    ("BACKBONE:\n  KWARGS:\n    width_mult: .nan\n", "BACKBONE.KWARGS.width_mult", "not a finite number"),
])
def test_values_that_break_geometry_are_refused_at_load(tmp_path, text, key, match):
    """These gave tracebacks deep in the tracker (stride 0, crop size 0, sqrt of a negative) or were
    silently accepted (LR -1, WINDOW_INFLUENCE 2, LR .nan); now the load names file and key."""
    path = _write(tmp_path, text)
    with pytest.raises(ConfigError, match=rf"^{path}: {key}\b.*{match}"):
        load_cfg(path)


def test_out_of_range_overrides_name_the_override(tmp_path):
    tiny = os.path.join(EXPERIMENTS, "siamrpn_alex_tiny", "config.yaml")
    with pytest.raises(ConfigError, match=r"^command-line override: TRACK.LR: -1.0 is out of range"):
        load_cfg(tiny, ["TRACK.LR", "-1"])
    cfg = load_cfg(tiny)
    with pytest.raises(ConfigError, match=r"^override: ANCHOR.STRIDE"):
        cfg.merge_from_list(["ANCHOR.STRIDE", 0])
    path = _write(tmp_path, "TRACK:\n  WINDOW_INFLUENCE: 1.5\n")
    with pytest.raises(ConfigError, match=rf"^{path}: TRACK.WINDOW_INFLUENCE"):
        get_cfg().merge_from_file(path)
    # The limits themselves are accepted.
    load_cfg(tiny, ["TRACK.LR", "0", "TRACK.WINDOW_INFLUENCE", "1", "TRACK.CONTEXT_AMOUNT", "0"])


def test_unreadable_yaml_names_the_file(tmp_path):
    latin = tmp_path / "latin1.yaml"
    latin.write_bytes("TRACK:\n  TYPE: SiamRPNTracker  # r\xe9glage\n".encode("latin-1"))
    with pytest.raises(ConfigError, match=rf"^{latin}: not UTF-8 text \(byte \d+: b'\\xe9'\)"):
        load_cfg(str(latin))
    for text in ("", "# only a comment\n"):
        empty = _write(tmp_path, text)
        with pytest.raises(ConfigError, match=rf"^{empty}: the config file is empty"):
            load_cfg(empty)
    child = _write(tmp_path, f"_BASE_: {latin}\n")
    with pytest.raises(ConfigError, match=rf"^{child}: _BASE_: {latin}: not UTF-8"):
        load_cfg(child)
