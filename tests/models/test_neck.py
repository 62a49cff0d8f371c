"""AdjustLayer / AdjustAllLayer."""
import pytest
import torch

from pysot.models.neck import AdjustAllLayer, AdjustLayer


def test_template_maps_are_centre_cropped():
    layer = AdjustLayer(4, 2).eval()
    z = torch.rand(1, 4, 15, 15)
    full = layer.downsample(z)
    out = layer(z)
    assert out.shape == (1, 2, 7, 7)
    torch.testing.assert_close(out, full[:, :, 4:11, 4:11])
    assert layer(torch.rand(1, 4, 31, 31)).shape == (1, 2, 31, 31)


def test_adjust_all_layer_names_and_levels():
    single = AdjustAllLayer([8], [4])
    assert [k for k in single.state_dict()][0].startswith("downsample.downsample.0")
    assert single(torch.rand(1, 8, 15, 15)).shape == (1, 4, 7, 7)
    multi = AdjustAllLayer([8, 6], [4, 5]).eval()
    assert any(k.startswith("downsample3.") for k in multi.state_dict())
    out = multi([torch.rand(1, 8, 31, 31), torch.rand(1, 6, 31, 31)])
    assert [tuple(o.shape) for o in out] == [(1, 4, 31, 31), (1, 5, 31, 31)]
    with pytest.raises(ValueError, match="expects 2"):
        multi([torch.rand(1, 8, 31, 31)])
    with pytest.raises(ValueError, match="equal length"):
        AdjustAllLayer([8, 6], [4])
