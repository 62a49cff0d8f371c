"""tools/benchmark.py --training: the original PySOT imported beside ours in one process.

The original is never part of the repository: the import mechanism is tested on a small
package of the same name made here, and the whole comparison runs only where
``PYSOT_ORIGINAL`` names a checkout of STVIR/pysot (skipped otherwise). Timings are never asserted."""
import os
import sys

import pytest

import pysot
from pysot.apps.train_benchmark import import_original_pysot
from shared_paths import REPO
from tool_loader import load_tool

TRAINING_DATA = os.path.join(REPO, "..", "shared", "parity", "training", "data")


def _fake_original(root):
    """A package called ``pysot`` with the three names the benchmark imports."""
    files = {"pysot/__init__.py": "",
             "pysot/core/__init__.py": "", "pysot/core/config.py": "cfg = {'origin': 'theirs'}\n",
             "pysot/datasets/__init__.py": "",
             "pysot/datasets/dataset.py": "from pysot.core.config import cfg\n"
                                          "class TrkDataset:\n    def origin(self):\n        return cfg['origin']\n",
             "pysot/models/__init__.py": "",
             "pysot/models/model_builder.py": "class ModelBuilder:\n    pass\n"}
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return str(root)


def test_the_original_is_imported_beside_ours(tmp_path):
    ours = {k: v for k, v in sys.modules.items() if k == "pysot" or k.startswith("pysot.")}
    orig = import_original_pysot(_fake_original(tmp_path))
    assert orig.cfg == {"origin": "theirs"} and orig.TrkDataset().origin() == "theirs"
    assert orig.ModelBuilder.__module__ == "pysot.models.model_builder"
    # ours are back, untouched: the same module objects under the same names
    assert all(sys.modules[k] is v for k, v in ours.items())
    assert sys.modules["pysot"] is pysot and str(tmp_path) not in sys.path
    import pysot.core.config as config

    assert hasattr(config, "get_cfg")


def test_a_folder_without_the_original_is_an_import_error(tmp_path):
    with pytest.raises(ImportError, match="cannot import the original PySOT"):
        import_original_pysot(str(tmp_path))
    assert sys.modules["pysot"] is pysot


def test_training_mode_names_a_bad_checkout(tmp_path):
    with pytest.raises(SystemExit, match="not a checkout of the original PySOT"):
        load_tool("benchmark").main(["--training", str(tmp_path)])


@pytest.mark.slow
@pytest.mark.skipif(not os.environ.get("PYSOT_ORIGINAL") or not os.path.isdir(TRAINING_DATA),
                    reason="PYSOT_ORIGINAL (a checkout of STVIR/pysot) and ../shared's training data are needed")
def test_training_mode_against_the_original(tmp_path, capsys):
    import json

    out = tmp_path / "training.json"
    assert load_tool("benchmark").main(["--training", os.environ["PYSOT_ORIGINAL"], "--training-data", TRAINING_DATA,
                                        "--training-batch", "2", "--training-samples", "2", "--training-steps", "1",
                                        "--warmup", "1", "--threads", "1", "--json", str(out)]) == 0
    r = json.loads(out.read_text())["training"]
    for part in ("pipeline", "step", "iteration"):
        assert r[part]["speedup"] > 0 and set(r[part]) == {"ours", "original", "speedup"}
    assert "samples/s" in capsys.readouterr().out
