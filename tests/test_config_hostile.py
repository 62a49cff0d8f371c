"""Config files and overrides against hostile input (issue #19 items 2, 3 and the config low items):
YAML that would never load, duplicate keys, values that pass isfinite() but overflow later,
a whole section given as a value, a tracker that does not fit the model's head."""
import os
import threading

import pytest

from pysot.config import ConfigError, get_cfg, load_cfg
from pysot.core.config import MAX_CONFIG_BYTES, MAX_FLOAT

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TINY = os.path.join(REPO, "experiments", "siamrpn_alex_tiny", "config.yaml")


def load_within(path, seconds=60):
    """``load_cfg(path)``'s ConfigError message; fails the test if loading hangs (the old code
    ran for minutes on these files) or succeeds."""
    outcome = {}

    def target():
        try:
            load_cfg(path)
            outcome["loaded"] = True
        except ConfigError as e:
            outcome["error"] = str(e)
        except BaseException as e:  # noqa: BLE001 - reported below
            outcome["other"] = f"{type(e).__name__}: {str(e)[:200]}"

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(seconds)
    if thread.is_alive():
        pytest.fail(f"load_cfg({path}) still running after {seconds} s")
    assert "error" in outcome, outcome
    return outcome["error"]


def alias_bomb(levels=29, width=9):
    lines = ["a0: &a0 [" + ", ".join(["x"] * width) + "]"]
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * width) + "]" for i in range(1, levels)]
    return lines


@pytest.mark.parametrize("where", ["unknown key", "BACKBONE.KWARGS"])
def test_an_alias_bomb_is_refused_naming_the_file(tmp_path, where):
    path = tmp_path / "bomb.yaml"
    if where == "unknown key":
        text = "NOT_A_KEY:\n" + "".join(f"  {line}\n" for line in alias_bomb())
    else:
        text = "BACKBONE:\n  KWARGS:\n" + "".join(f"    {line}\n" for line in alias_bomb())
    path.write_text(text)
    message = load_within(str(path))
    assert message.startswith(f"{path}: line ") and "more than 100000 values once its aliases are expanded" in message


def test_deep_nesting_is_refused_naming_the_file(tmp_path):
    path = tmp_path / "deep.yaml"
    path.write_text("BACKBONE:\n  KWARGS:\n    x: " + "[" * 100_000 + "]" * 100_000 + "\n")
    message = load_within(str(path))
    assert message == f"{path}: brackets nested more than 64 levels deep; a config needs a few"
    block = tmp_path / "block.yaml"  # nesting by indentation: found by the parser's events
    block.write_text("BACKBONE:\n  KWARGS:\n    x:\n" + "".join(" " * (6 + 2 * i) + f"k{i}:\n" for i in range(100)))
    assert load_within(str(block)).startswith(f"{block}: line 65: nested more than 64 levels deep")


def test_brackets_in_quotes_and_comments_do_not_count_as_nesting(tmp_path):
    path = tmp_path / "quoted.yaml"
    path.write_text(f"_BASE_: {TINY}\nMETA_ARC: \"{'[' * 100}\"  # {'{' * 100}\n"
                    f"BACKBONE:\n  KWARGS:\n    note: '{'[' * 100}'\n")
    assert load_cfg(str(path)).META_ARC == "[" * 100


def test_a_huge_file_is_refused_without_reading_it_all(tmp_path):
    path = tmp_path / "huge.yaml"
    path.write_text('META_ARC: "' + "a" * 50_000_000 + '"\n')
    assert load_within(str(path)) == (f"{path}: larger than {MAX_CONFIG_BYTES // 1024} KiB; a config file is a "
                                      "few KiB (is this the right file?)")


def test_a_huge_base_file_is_named_through_the_yaml_that_includes_it(tmp_path):
    (tmp_path / "base.yaml").write_text("#" * (MAX_CONFIG_BYTES + 1) + "\n")
    (tmp_path / "child.yaml").write_text("_BASE_: base.yaml\nTRACK:\n  LR: 0.3\n")
    message = load_within(str(tmp_path / "child.yaml"))
    assert message.startswith(f"{tmp_path / 'child.yaml'}: _BASE_: {tmp_path / 'base.yaml'}: larger than")


def test_yaml_anchors_and_merge_keys_of_a_normal_size_still_load(tmp_path):
    path = tmp_path / "anchors.yaml"
    path.write_text("TRACK: &t\n  LR: 0.3\n  PENALTY_K: 0.1\nBACKBONE:\n  KWARGS:\n    a: &k {width_mult: 1.0}\n"
                    "    b:\n      <<: *k\n      width_mult: 2.0\n")
    cfg = load_cfg(str(path))
    assert cfg.TRACK.LR == 0.3 and cfg.BACKBONE.KWARGS.b == {"width_mult": 2.0}


def test_a_duplicate_key_is_refused_with_both_lines(tmp_path):
    path = tmp_path / "dup.yaml"
    path.write_text("TRACK:\n  LR: 0.3\n  PENALTY_K: 0.1\n  LR: 0.5\n")
    with pytest.raises(ConfigError) as e:
        load_cfg(str(path))
    assert str(e.value) == (f"{path}: line 4: key 'LR' is given twice in one mapping (first on line 2); keep one")


def test_a_whole_section_as_an_override_is_one_line():
    with pytest.raises(ConfigError) as e:
        load_cfg(TINY, ["TRACK", "5"])
    assert "\n" not in str(e.value)
    assert str(e.value).startswith("command-line override: TRACK is a section of keys (TYPE, PENALTY_K,")
    cfg = get_cfg()
    with pytest.raises(ConfigError, match="^command-line override: TRACK.DISTRACTOR is a section"):
        cfg.merge_from_list(["TRACK.DISTRACTOR", "1"])


def float_keys():
    def walk(node, prefix=""):
        for key, value in node.items():
            if isinstance(value, dict):
                yield from walk(value, f"{prefix}{key}.")
            elif isinstance(value, float):
                yield prefix + key
    return list(walk(get_cfg()))


@pytest.mark.parametrize("key", float_keys())
def test_every_float_key_has_a_finite_range(key):
    with pytest.raises(ConfigError, match=f"^command-line override: {key}: 1e\\+300 is out of range"):
        load_cfg(TINY, [key, "1e300"])


@pytest.mark.parametrize("override, range_text", [
    (["TRACK.CONTEXT_AMOUNT", "1000.0"], r"in \[0, 10\]"),  # overflowed in the crop's square root
    (["TRACK.INSTANCE_SIZE", "100000"], r"in \(0, 4096\]"),  # raw torch allocation error
    (["TRACK.EXEMPLAR_SIZE", "5000"], r"in \(0, 4096\]"),
])
def test_values_that_overflow_later_are_refused_at_load(override, range_text):
    with pytest.raises(ConfigError, match=f"{override[0]}: .*{range_text}"):
        load_cfg(TINY, override)


def test_a_huge_float_under_kwargs_is_refused(tmp_path):
    path = tmp_path / "kw.yaml"
    path.write_text(f"_BASE_: {TINY}\nBACKBONE:\n  KWARGS:\n    width_mult: 1.0e+300\n")
    with pytest.raises(ConfigError, match=r"BACKBONE.KWARGS.width_mult: 1e\+300 is out of range \(a float must lie "
                                          r"within \+-1e\+06"):
        load_cfg(str(path))
    assert MAX_FLOAT == 1e6


@pytest.mark.parametrize("experiment", sorted(os.listdir(os.path.join(REPO, "experiments"))))
def test_the_shipped_experiments_fit_the_new_ranges(experiment):
    path = os.path.join(REPO, "experiments", experiment, "config.yaml")
    if os.path.isfile(path):
        load_cfg(path)


@pytest.mark.parametrize("kind", ["deep", "context"])
def test_demo_reports_a_hostile_config_in_one_line_naming_the_file(tmp_path, log_messages, kind):
    from tool_loader import load_tool

    path = tmp_path / "cfg.yaml"
    if kind == "deep":  # was a RecursionError, printed without the file name
        path.write_text(f"_BASE_: {TINY}\nBACKBONE:\n  KWARGS:\n    x: " + "[" * 100_000 + "]" * 100_000 + "\n")
    else:  # was an OverflowError traceback once the first crop was computed
        path.write_text(f"_BASE_: {TINY}\nTRACK:\n  CONTEXT_AMOUNT: 1.0e+300\n")
    argv = ["--config", str(path), "--no-display", "--max-frames", "3", "--device", "cpu", "--output",
            str(tmp_path / "out.avi")]
    assert load_tool("demo").main(argv) == 2
    assert log_messages[-1].startswith(str(path)), log_messages
    assert not (tmp_path / "out.avi").exists()
