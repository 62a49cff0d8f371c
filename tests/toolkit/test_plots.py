"""toolkit.visualization: the EAO ranking axis counts whole ranks."""
from types import SimpleNamespace

import numpy as np
import pytest

from toolkit.visualization import plots


@pytest.mark.parametrize("n", [1, 3])
def test_eao_ranking_axis_has_integer_ticks(n, tmp_path, monkeypatch):
    figures = []
    monkeypatch.setattr(plots, "save_figure", lambda fig, path: figures.append((path, [ax.get_xticks() for ax in fig.axes]))
                        or path)
    results = {f"T{i}": SimpleNamespace(eao=0.3 + 0.1 * i, eao_curve=np.linspace(0.6, 0.2, 50)) for i in range(n)}
    plots.plot_eao(results, str(tmp_path), "VOT2018", (10, 40))
    ticks = dict(figures)[str(tmp_path / "eao_rank.png")][0]
    assert list(ticks) == list(range(1, n + 1))
