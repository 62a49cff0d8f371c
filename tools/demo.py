"""Track one object in a video file, an image folder, a webcam, or a generated clip.

    python tools/demo.py --config experiments/siamrpn_alex_dwxcorr/config.yaml \\
        --snapshot model.pth --video clip.mp4 --init 100,80,40,60 --output out.mp4

Without --config/--snapshot the embedded NanoTrack V2 model is used (its released weights,
Apache-2.0: pysot/data/README.md; --snapshot alone: the config stored in the checkpoint);
without --video a synthetic clip (init box: its ground truth). --boxes writes the boxes as a
results file (x,y,w,h per frame, the first line the init box, as tools/test.py writes them). The fast path is on for the CPU (--no-fast: off). Without a display the run is
headless: give --init (or use the synthetic clip) and --output.
"""
from __future__ import annotations

import argparse
import os
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# The embedded default model: NanoTrack V2's released weights with their config (pysot.data.DEFAULT_MODEL;
# a path here, so that --help needs no import of the package).
DEFAULT_SNAPSHOT = os.path.join(REPO, "pysot", "data", "nanotrack_v2.pth")


def parse_args(argv=None) -> argparse.Namespace:
    from pysot.apps.cli import (add_config_arguments, add_fast_arguments, add_precision_argument,
                                add_threads_argument, parse_tool_args, precision_overrides)

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_config_arguments(p, required=False,
                         config_help="experiment YAML (default: the one stored in --snapshot)")
    p.add_argument("--snapshot", help="model weights (default: the embedded NanoTrack V2, "
                                      f"{os.path.relpath(DEFAULT_SNAPSHOT, REPO)})")
    p.add_argument("--video", help="video file, image folder (or a sequence folder with color/ or img/), "
                                   "or camera index (0); default: a synthetic clip")
    p.add_argument("--init", help="initial box x,y,w,h (default: mouse selection, or the synthetic clip's box)")
    p.add_argument("--output", help="write the annotated video here (.mp4, .avi, .mov or .mkv)")
    p.add_argument("--boxes", help="write the boxes here (results format: x,y,w,h per frame, the first "
                                   "line the init box; tools/eval.py reads it)")
    p.add_argument("--fps", type=float, help="frame rate of --output (default: the source video's, else 25)")
    p.add_argument("--device", choices=["cpu", "cuda"], help="default: cuda if cfg.CUDA and a GPU is present")
    add_fast_arguments(p)
    add_precision_argument(p)
    add_threads_argument(p)
    p.add_argument("--max-frames", type=int, help="stop after this many frames")
    p.add_argument("--no-display", action="store_true", help="never open a window")
    # Intermixed: a flag after the overrides (TRACK.LR 0.3 --fast) is still a flag.
    args = parse_tool_args(p, _attach_negative_init(sys.argv[1:] if argv is None else list(argv)))
    args.opts = precision_overrides(args)
    return args


def _attach_negative_init(argv):
    """``--init -5,10,40,60`` (a box starting left of the image) as ``--init=-5,10,40,60``: argparse
    would otherwise read the value as an unknown option and say --init has no argument."""
    out = []
    for i, arg in enumerate(argv):
        if i > 0 and argv[i - 1] == "--init" and arg[:2] in {f"-{d}" for d in "0123456789."}:
            out[-1] = f"--init={arg}"
        else:
            out.append(arg)
    return out


def resolve_model(config, snapshot):
    """(config, snapshot), falling back to the embedded NanoTrack V2; a clear error if that is missing.

    ``config`` ``None`` with a ``snapshot``: the runner reads the config the checkpoint stores.
    """
    if config or snapshot:
        return config, snapshot
    if not os.path.isfile(DEFAULT_SNAPSHOT):
        raise SystemExit(f"error: the embedded default model is missing ({DEFAULT_SNAPSHOT}); "
                         "pass --config experiments/<name>/config.yaml --snapshot <weights.pth>")
    return None, DEFAULT_SNAPSHOT


def check_boxes_path(path: str, video) -> None:
    """``--boxes``: a file in an existing folder, not the input video or folder."""
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise FileNotFoundError(f"--boxes {path}: folder {folder} does not exist")
    if os.path.isdir(path) or (isinstance(video, str) and os.path.exists(video)
                               and os.path.realpath(path) == os.path.realpath(video)):
        raise ValueError(f"--boxes {path}: give a new text file name (it is the input or a folder)")


def main(argv=None) -> int:
    args = parse_args(argv)
    from pysot.io.video import check_output_path, display_available, open_frames, parse_box, track_video
    from pysot.utils.log import get_logger
    from toolkit.cli import run_main
    from toolkit.runner import TrackerSpec, build_tracker_from_spec, reported_box
    from toolkit.utils.results import write_rows

    logger = get_logger("pysot.demo")

    def run() -> int:
        from pysot.utils.threads import configure_threads

        threads = configure_threads(args.threads)  # before torch is imported: see pysot.utils.threads
        init_box = parse_box(args.init) if args.init else None
        config, snapshot = resolve_model(args.config, args.snapshot)
        if config and not os.path.isfile(config):
            raise FileNotFoundError(f"--config {config}: file not found")
        if args.output:
            check_output_path(args.output, args.video)
        if args.boxes:
            check_boxes_path(args.boxes, args.video)
        if args.max_frames is not None and args.max_frames < 1:
            raise ValueError(f"--max-frames {args.max_frames}: give at least 1")
        if args.fps is not None and not 0 < args.fps <= 1000:
            raise ValueError(f"--fps {args.fps:g}: give a frame rate in (0, 1000]")
        if snapshot and not os.path.isfile(snapshot):
            raise FileNotFoundError(f"--snapshot {snapshot}: file not found")
        if args.config and not args.snapshot:
            logger.warning("no --snapshot: the network keeps its random initial weights")
        total, source_fps = None, None
        if args.video is None:
            from pysot.datasets.synthetic import render_clip

            frames, gt = render_clip(num_frames=args.max_frames or 60)
            total = len(frames)
            init_box = init_box or [float(v) for v in gt[0]]
            logger.info("no --video: tracking a generated %d-frame clip from its ground-truth box", total)
        else:
            frames = open_frames(args.video)
            source_fps, total = frames.fps, frames.count
        show = not args.no_display and display_available()
        if not show and not args.output:
            logger.warning("no display and no --output: results are only counted (pass --output out.mp4)")
        tracker = build_tracker_from_spec(TrackerSpec(config, snapshot, args.device, list(args.opts or []),
                                                      fast=args.fast))
        if not config:
            logger.info("config: the one stored in %s", snapshot)
        logger.info("%s on %s (%d CPU threads%s)", type(tracker).__name__, tracker.device, threads,
                    ", fast path" if type(tracker.model).__name__ == "FastModel" else "")
        output_fps = args.fps or source_fps or 25.0
        result = track_video(tracker, frames, init_box, output=args.output, show=show, output_fps=output_fps,
                             max_frames=args.max_frames, total=total)
        print(f"tracked {len(result.results) - 1} frames at {result.fps:.1f} fps")
        if args.output:
            print(f"wrote {args.output} ({output_fps:g} fps)")
        if args.boxes:
            # The result files' box: the tracker's unclipped box, as tools/test.py writes it.
            write_rows(args.boxes, [result.results[0]["bbox"]] + [reported_box(r) for r in result.results[1:]])
            print(f"wrote {args.boxes} ({len(result.results)} boxes)")
        return 0

    return run_main(run, logger)


if __name__ == "__main__":
    sys.exit(main())
