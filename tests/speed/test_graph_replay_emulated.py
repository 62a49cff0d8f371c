"""The CUDA-graph bookkeeping of FastModel, checked on the CPU with an emulated graph.

A real graph replays kernels that read the template state and the input from the addresses
they had at capture. The emulation keeps the state *objects* seen at capture and replays on
them, so a template refresh that rebound the state instead of copying into it, a stale static
input, or outputs aliased across replays all show up as wrong results, as they would on a GPU.
"""
import torch

from parity import within
from pysot.models.fast import _copy_tree_, optimize_for_inference
from tracker.tracker_helpers import fixture_cfg_and_model


class EmulatedGraph:
    def __init__(self, fast, static_input):
        self.fast, self.static_input = fast, static_input
        self.state = fast.model._template_state  # what a real capture would have baked in
        self.static_outputs = fast._eager_track(static_input)

    def replay(self):
        live, self.fast.model._template_state = self.fast.model._template_state, self.state
        try:
            outputs = self.fast._eager_track(self.static_input)
        finally:
            self.fast.model._template_state = live
        assert _copy_tree_(self.static_outputs, outputs)


def _emulated_fast_model():
    cfg, model, fx = fixture_cfg_and_model("siamrpn_alex_dwxcorr")
    fast = optimize_for_inference(model, "cpu", search_size=cfg.TRACK.INSTANCE_SIZE)
    fast.cuda_graph = True
    captures = []

    def record(static_input):
        graph = EmulatedGraph(fast, static_input)
        captures.append(tuple(static_input.shape))
        return graph, graph.static_outputs

    fast._record_graph = record
    return model, fast, fx, captures


def _plain(model, z, x):
    with torch.no_grad():
        model.template(z)
        return model.track(x)


def test_replays_follow_new_templates_and_inputs():
    model, fast, fx, captures = _emulated_fast_model()
    z, x = torch.from_numpy(fx["z"]), torch.from_numpy(fx["x"])
    fast.template(z)
    first = fast.track(x)
    assert within(first["cls"].numpy(), fx["cls"]) <= 1.0 and within(first["loc"].numpy(), fx["loc"]) <= 1.0
    # A new input, then a new template of the same shape: one graph, replayed with fresh data.
    x2, z2 = x.flip(-2), z.flip(-1)
    second = fast.track(x2)
    fast.template(z2)
    third = fast.track(x)
    assert captures == [tuple(x.shape)]
    for got, (zz, xx) in ((second, (z, x2)), (third, (z2, x))):
        expected = _plain(model, zz, xx)
        for key in ("cls", "loc"):
            assert within(got[key].numpy(), expected[key].numpy()) <= 1.0, key
    # Returned outputs are the caller's: later replays must not overwrite them.
    assert within(first["cls"].numpy(), fx["cls"]) <= 1.0
    # Every refresh lands in the captured tensors, not only the first one.
    fast.template(z)
    again = fast.track(x)
    assert within(again["cls"].numpy(), fx["cls"]) <= 1.0 and captures == [tuple(x.shape)]


def test_new_shapes_capture_new_graphs():
    model, fast, fx, captures = _emulated_fast_model()
    z, x = torch.from_numpy(fx["z"]), torch.from_numpy(fx["x"])
    fast.template(z)
    fast.track(x)
    bigger = torch.nn.functional.pad(x, (8, 8, 8, 8), value=117.0)
    out = fast.track(bigger)  # e.g. DaSiamRPN's growing search region: a second graph
    assert captures == [tuple(x.shape), tuple(bigger.shape)]
    assert within(out["cls"].numpy(), _plain(model, z, bigger)["cls"].numpy()) <= 1.0
    # A template batch of another size cannot be copied into the captured state: graphs are dropped.
    fast.template(torch.cat([z, z]))
    assert fast._graphs == {}
    out = fast.track(torch.cat([x, x]))
    assert captures[-1] == (2,) + tuple(x.shape[1:])
    assert within(out["cls"][:1].numpy(), fx["cls"]) <= 1.0
