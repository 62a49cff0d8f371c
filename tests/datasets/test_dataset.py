import json
import os

import numpy as np
import pytest

from pysot.config import CN, get_cfg
from pysot.datasets.dataset import DatasetError, PairBuilder, SubDataset, build_train_dataset

from mask_checks import assert_mask_covers_box


def _cfg(paths, **dataset):
    cfg = get_cfg()
    cfg.DATASET.NAMES = ["SYN"]
    node = CN()
    node.ROOT, node.ANNO, node.FRAME_RANGE, node.NUM_USE = paths["root"], paths["anno"], 3, -1
    cfg.DATASET.SYN = node
    for k, v in dataset.items():
        cfg.DATASET[k] = v
    cfg.TRAIN.OUTPUT_SIZE = 17
    return cfg


def test_distractor_share(synthetic_crop511):
    sub = SubDataset("SYN", synthetic_crop511["root"], synthetic_crop511["anno"], frame_range=3)
    pairs = PairBuilder([sub], neg=0.4, neg_same_category=0.7)
    rng = np.random.default_rng(0)
    specs = [pairs.sample(rng, int(rng.integers(len(pairs.tracks)))) for _ in range(4000)]
    neg = [s for s in specs if s.negative]
    assert abs(len(neg) / len(specs) - 0.4) < 0.03
    same = [s for s in neg if s.same_category]
    # Random other-category draws also land on the same category 1/6 of the time.
    assert 0.7 <= len(same) / len(neg) <= 0.7 + 0.3 / 6 + 0.04
    for s in neg:
        t, o = pairs.tracks[s.template[0]], pairs.tracks[s.search[0]]
        assert t.video != o.video
        assert (t.category == o.category) == s.same_category
    for s in specs:
        if not s.negative:
            t = pairs.tracks[s.template[0]]
            assert s.search[0] == s.template[0]
            assert abs(t.frames.index(s.search[1]) - t.frames.index(s.template[1])) <= 3


def test_no_same_category_when_share_zero(synthetic_crop511):
    sub = SubDataset("SYN", synthetic_crop511["root"], synthetic_crop511["anno"])
    pairs = PairBuilder([sub], neg=1.0, neg_same_category=0.0)
    rng = np.random.default_rng(1)
    specs = [pairs.sample(rng, i % len(pairs.tracks)) for i in range(600)]
    share = np.mean([s.same_category for s in specs])
    assert share < 1 / 6 + 0.05  # only chance matches remain


def test_samples_are_deterministic_and_well_formed(synthetic_crop511):
    # The per-sample sampler: sample (epoch, i) is a pure function of (seed, epoch, i).
    ds = build_train_dataset(_cfg(synthetic_crop511, NEG=0.3, SAMPLER="per_sample"), length=20)
    a, b = ds[(1, 5)], ds[(1, 5)]
    for k in a:
        np.testing.assert_array_equal(a[k], b[k])
    assert a["template"].shape == (3, 127, 127) and a["search"].shape == (3, 255, 255)
    assert a["label_cls"].shape == (5, 17, 17) and a["label_loc"].shape == (4, 5, 17, 17)
    c = ds[(2, 5)]
    assert not np.array_equal(a["search"], c["search"])
    positives = [ds[(0, i)] for i in range(20)]
    assert any((p["label_cls"] == 1).any() for p in positives if p["negative"] == 0)


def test_original_sampler_repeats_with_the_same_seed(synthetic_crop511):
    """The default (original PySOT) sampler draws from numpy's global stream: seeded alike, alike."""
    runs = []
    for _ in range(2):
        np.random.seed(11)
        ds = build_train_dataset(_cfg(synthetic_crop511, NEG=0.3), length=20)
        runs.append([ds[(0, i)] for i in range(6)])
    for a, b in zip(*runs):
        for k in a:
            np.testing.assert_array_equal(a[k], b[k])
    assert not np.array_equal(runs[0][0]["search"], runs[0][1]["search"])
    assert ds.original is not None and len(ds.original.picks) >= 20


def test_unknown_sampler_is_named(synthetic_crop511):
    with pytest.raises(DatasetError, match="DATASET.SAMPLER: 'fancy'"):
        build_train_dataset(_cfg(synthetic_crop511, SAMPLER="fancy"), length=4)


def test_dataset_offsets_follow_position_balanced_sampling(synthetic_crop511):
    ds = build_train_dataset(_cfg(synthetic_crop511, NEG=0.0), length=300)
    # Without scale jitter the window's shift (source px) is the target's offset (output px).
    ds.search_aug.color = ds.search_aug.blur = ds.search_aug.scale = 0.0
    centres = np.array([(ds[(0, i)]["bbox"][[0, 2]].mean() - 127) for i in range(300)])
    assert np.abs(centres).max() <= 64.5
    counts, _ = np.histogram(centres, bins=4, range=(-64, 64))
    assert counts.min() > 45  # roughly 75 per quarter when uniform


def test_siamfc_targets(synthetic_crop511):
    cfg = _cfg(synthetic_crop511)
    cfg.TRACK.TYPE = "SiamFCTracker"
    sample = build_train_dataset(cfg, length=4)[(0, 0)]
    assert sample["label_cls"].shape == (1, 17, 17) and sample["label_weight"].shape == (1, 17, 17)


def test_bad_annotations_are_named(tmp_path, synthetic_crop511):
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(DatasetError, match="bad.json"):
        SubDataset("X", str(tmp_path), str(bad))
    with pytest.raises(DatasetError, match="not found"):
        SubDataset("X", str(tmp_path), str(tmp_path / "missing.json"))
    empty = tmp_path / "empty.json"
    empty.write_text(json.dumps({"v": {"00": {"000000": [5, 5, 5, 9]}}}))
    with pytest.raises(DatasetError, match="no track with a valid box"):
        SubDataset("X", str(tmp_path), str(empty))


def test_missing_crop_names_path(tmp_path, synthetic_crop511, capfd):
    anno = tmp_path / "a.json"
    listed = json.load(open(synthetic_crop511["anno"]))
    first = sorted(listed)[0]
    listed["zz_ghost"] = {"00": {"000000": [10, 10, 50, 60]}}  # a crop deleted after preparation
    anno.write_text(json.dumps(listed))
    cfg = _cfg({"root": synthetic_crop511["root"], "anno": str(anno)}, NEG=0.0)
    cfg.DATASET.SYN.NUM_USE = -1
    ds = build_train_dataset(cfg, length=60)
    assert os.path.isdir(os.path.join(synthetic_crop511["root"], first))
    with pytest.raises(FileNotFoundError, match="zz_ghost"):
        for i in range(60):
            ds[(0, i)]
    assert "findDecoder" not in capfd.readouterr().err  # no OpenCV warning on top of our error


def test_wrong_root_is_named_before_training(tmp_path, synthetic_crop511):
    with pytest.raises(DatasetError, match=r"DATASET.SYN.ROOT: crop folder not found: .*nowhere"):
        SubDataset("SYN", str(tmp_path / "nowhere"), synthetic_crop511["anno"])
    parent = os.path.dirname(synthetic_crop511["root"])  # the --out folder instead of its crop511
    with pytest.raises(DatasetError, match=r"ROOT must be the crop511 folder .*did you mean .*crop511\?"):
        SubDataset("SYN", parent, synthetic_crop511["anno"])


def test_mask_labels_follow_the_search_crop(tmp_path):
    from pysot.datasets.synthetic import write_crop511_dataset

    paths = write_crop511_dataset(str(tmp_path), num_videos=3, num_frames=3, seed=5, with_masks=True)
    cfg = _cfg(paths, NEG=0.0)
    cfg.MASK.MASK = True
    ds = build_train_dataset(cfg, length=6)
    ds.search_aug.flip = 0.5
    for i in range(6):
        assert_mask_covers_box(ds[(0, i)], min_cover=0.3)
    # Masks lost after preparation (the first one is checked when training starts, see below).
    last_video = os.path.join(paths["root"], "synthetic_0002")
    for name in os.listdir(last_video):
        if name.endswith(".m.png"):
            os.remove(os.path.join(last_video, name))
    cfg.DATASET.SYN.NUM_USE = -1
    with pytest.raises(FileNotFoundError, match=r"synthetic_0002/\d{6}\.\d{2}\.m\.png"):
        for i in range(40):
            build_train_dataset(cfg, length=40)[(0, i)]


def test_a_sub_dataset_without_its_keys_is_named(synthetic_crop511):
    cfg = _cfg(synthetic_crop511)
    del cfg.DATASET.SYN["FRAME_RANGE"]
    with pytest.raises(DatasetError, match=r"DATASET.SYN lacks FRAME_RANGE \(a sub-dataset needs ROOT"):
        build_train_dataset(cfg, length=2)


def test_mask_training_on_a_dataset_without_masks_is_refused_at_start(synthetic_crop511):
    cfg = _cfg(synthetic_crop511)  # written without --with-masks
    cfg.MASK.MASK = True
    with pytest.raises(DatasetError, match=r"MASK.MASK is True but DATASET.SYN has no mask crops .*\.m\.png"):
        build_train_dataset(cfg, length=2)
