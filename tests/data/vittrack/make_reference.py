"""Reference outputs of the original VitTracker (vit_dist) network and its Python tracker, on CPU.

Run from this folder (outside the pysot repo):  python make_ref.py OUT.npz [weights.pth]
Without weights, every state_dict entry gets the synthetic tensor of the pysot parity rule
(zlib.crc32 of the key seeds numpy's default_rng).
"""
import math, os, sys, types, zlib, json, glob
import numpy as np
import torch
import cv2

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
# Package __init__s pull in unrelated trackers (OSTrack, visdom); load only the modules the
# vit_dist tracker needs, by giving the packages empty module objects with the right paths.
for pkg in ["lib.models", "lib.models.ostrack", "lib.vis", "lib.train", "lib.train.data"]:
    m = types.ModuleType(pkg); m.__path__ = [os.path.join(HERE, *pkg.split("."))]; sys.modules[pkg] = m
sys.modules["lib.models.ostrack"].build_ostrack = None
sys.modules["lib.models.ostrack"].build_small_ostrack = None
vis = types.ModuleType("lib.vis.visdom_cus"); vis.Visdom = None; sys.modules["lib.vis.visdom_cus"] = vis
# CPU only: the original tracker calls .cuda() on tensors and the network.
torch.Tensor.cuda = lambda self, *a, **k: self
torch.nn.Module.cuda = lambda self, *a, **k: self

from lib.config.vit_dist.config import cfg, update_config_from_file
update_config_from_file(os.path.join(HERE, "experiments/vit_dist/vit_48_h32_noKD.yaml"))
from lib.models.vit_dist.vit_dist import build_ostrack_dist
import lib.test.tracker.vit_dist as vt

torch.set_num_threads(1)
ADJUST = {"box_head.conv5_size.bias": -1.1, "box_head.conv5_ctr.weight": 4.0}


def synthetic(name, shape):
    rng = np.random.default_rng(zlib.crc32(name.encode("utf-8")))
    if name.endswith("num_batches_tracked"):
        return np.zeros(shape, np.int64)
    if name.endswith("running_mean"):
        a = 0.1 * rng.standard_normal(shape)
    elif name.endswith("running_var"):
        a = 0.5 + rng.random(shape)
    elif len(shape) == 1 and name.endswith("weight"):
        a = 1.0 + 0.1 * rng.standard_normal(shape)
    elif name.endswith("bias") or len(shape) <= 1:
        a = 0.05 * rng.standard_normal(shape)
    else:
        a = rng.standard_normal(shape) * math.sqrt(1.0 / float(np.prod(shape[1:])))
    return a.astype(np.float32)


def main(out, weights=None):
    net = build_ostrack_dist(cfg)
    sd = net.state_dict()
    manifest = [[k, list(v.shape)] for k, v in sd.items()]
    if weights:
        state = torch.load(weights, map_location="cpu")
    else:
        state = {k: torch.from_numpy(np.asarray(synthetic(k, tuple(v.shape)))) for k, v in sd.items()}
        # Shift the size logits so boxes neither double nor vanish every frame (sigmoid(-1.1) ~ 0.25 of the
        # 4x search crop = the target's size), and sharpen the score map so the arg-max moves.
        for k, v in ADJUST.items():
            state[k] = state[k] + v if k.endswith("bias") else state[k] * v
    net.load_state_dict(state, strict=True)
    net.eval()
    ckpt = os.path.join(HERE, "_ckpt.pth")
    torch.save({"net": net.state_dict()}, ckpt)

    rng = np.random.default_rng(20)
    z = rng.standard_normal((1, 3, 128, 128)).astype(np.float32)
    x = rng.standard_normal((1, 3, 256, 256)).astype(np.float32)
    with torch.no_grad():
        o = net(torch.from_numpy(z), torch.from_numpy(x))
    res = dict(manifest=json.dumps(manifest), adjust=json.dumps(ADJUST), z=z, x=x, score=o["score_map"].numpy(), size=o["size_map"].numpy(),
               offset=o["offset_map"].numpy(), pred_boxes=o["pred_boxes"].numpy())

    class P:  # the tracker's parameters, as lib/test/parameter/vit_dist.py sets them
        pass
    p = P(); p.cfg = cfg; p.template_factor = cfg.TEST.TEMPLATE_FACTOR; p.template_size = cfg.TEST.TEMPLATE_SIZE
    p.search_factor = cfg.TEST.SEARCH_FACTOR; p.search_size = cfg.TEST.SEARCH_SIZE; p.checkpoint = ckpt
    p.debug = 0; p.save_all_boxes = False
    seqs = {"ball1": "VOT/ball1", "book": "VOT/book", "bag": "VOT/bag", "Biker": "OTB/Biker"}
    root = os.environ.get("SEQ_ROOT", "/work/shared/data/sequences")
    nframes = int(os.environ.get("NFRAMES", "40"))
    for name, rel in seqs.items():
        d = os.path.join(root, rel)
        files = sorted(glob.glob(os.path.join(d, "color", "*.jpg")) or glob.glob(os.path.join(d, "img", "*.jpg"))
                       or glob.glob(os.path.join(d, "*.jpg")))[:nframes]
        gt_file = os.path.join(d, "groundtruth.txt") if os.path.exists(os.path.join(d, "groundtruth.txt")) \
            else os.path.join(d, "groundtruth_rect.txt")
        first = open(gt_file).readline().replace("\t", ",").replace(" ", ",")
        v = np.array([float(t) for t in first.split(",") if t.strip()])
        if len(v) == 8:
            xs, ys = v[0::2], v[1::2]
            cx, cy = xs.mean(), ys.mean()
            x1, x2, y1, y2 = xs.min(), xs.max(), ys.min(), ys.max()
            a1 = np.linalg.norm(v[0:2] - v[2:4]) * np.linalg.norm(v[2:4] - v[4:6])
            s = np.sqrt(a1 / ((x2 - x1) * (y2 - y1)))
            w, h = s * (x2 - x1) + 1, s * (y2 - y1) + 1
            init = [cx - (w - 1) / 2, cy - (h - 1) / 2, w, h]  # pysot's get_axis_aligned_bbox, 0-based
        else:
            init = list(v[:4]); init[0] -= 1; init[1] -= 1
        tr = vt.Vit_dist(p, "x")
        boxes, scores = [init], [1.0]
        for i, f in enumerate(files):
            img = cv2.cvtColor(cv2.imread(f), cv2.COLOR_BGR2RGB)  # pytracking feeds RGB frames
            if i == 0:
                tr.initialize(img, {"init_bbox": list(init)})
                continue
            r = tr.track(img)
            boxes.append(list(r["target_bbox"])); scores.append(float(r["confidence"]))
        res[f"boxes_{name}"] = np.array(boxes, np.float64)
        res[f"scores_{name}"] = np.array(scores, np.float64)
        res[f"init_{name}"] = np.array(init, np.float64)
        print(name, len(boxes), boxes[-1])
    os.remove(ckpt)
    np.savez_compressed(out, **res)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else None)
