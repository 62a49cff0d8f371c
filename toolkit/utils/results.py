"""Reading and writing tracker result files, tolerant of real-world quirks.

Layouts (as in the original PySOT, plus those published results use):

* one-pass (OTB, LaSOT, UAV, NFS, TrackingNet, GOT-10k):
  ``results/<dataset>/<tracker>/<video>.txt``, one ``x,y,w,h`` box per frame;
  also ``<tracker>/<video>/<video>_001.txt`` (GOT-10k toolkit) and pytracking's
  ``<prefix>_<video>.txt`` (:data:`DATASET_PREFIXES`);
* VOT short-term: ``results/<dataset>/<tracker>/baseline/<video>/<video>_001.txt``
  (one file per repetition), lines ``1`` (initialised), ``2`` (failure),
  ``0`` (skipped frame) or a box / polygon, in the order of the re-initialisation
  protocol (:func:`check_vot_codes`);
* VOT long-term: ``.../<tracker>/longterm/<video>/<video>_001.txt`` and
  ``<video>_001_confidence.value`` (one score per frame; the first line may be
  empty, :func:`read_confidences`).

Quirks that loading survives: comma, tab, space or semicolon separators;
file names differing in case or in the ``-1`` / ``_1`` / ``.1`` suffix style
(``jogging_1.txt`` for ``Jogging-1``); a first line written as corners
``x1,y1,x2,y2``; one frame too few or too many (padded with NaN / truncated,
with a warning naming the file); ``nan`` lines. Anything else that does not
parse is a :class:`ResultFormatError` naming file and line.
"""
from __future__ import annotations

import os
import re
import stat
import warnings
from itertools import repeat
from dataclasses import dataclass, field
from typing import Dict, Iterable, List, Optional, Sequence

import numpy as np

from pysot.utils.fileio import atomic_open
from pysot.utils.log import get_logger


logger = get_logger("toolkit.results")

_SEPARATORS = re.compile(r"[,\s;]+")
_REPETITION = re.compile(r"_(\d+)\.txt$")

# VOT special lines.
VOT_INIT, VOT_FAILURE, VOT_SKIP = 1, 2, 0
#: VOT2016-2019 baseline: the tracker is re-initialised this many frames after a failure.
VOT_SKIP_FRAMES = 5


class ResultFormatError(ValueError):
    """A result file that cannot be used; the message names the file (and line)."""


def read_lines(path: str) -> List[str]:
    """The lines of a regular text file without trailing blank lines (errors name the file).

    Anything else is refused without reading: a FIFO named like a result file would block
    the reader forever (opened non-blocking and checked, so nothing can be swapped in between).
    """
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError as e:
        raise ResultFormatError(f"{path}: cannot read the file: {e}") from e
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise ResultFormatError(f"{path}: not a regular file ({_file_kind(mode)}); result files are plain text")
        with os.fdopen(fd, "r", encoding="utf-8", errors="replace") as f:
            fd = -1  # closed by the file object
            text = f.read()
    except OSError as e:
        raise ResultFormatError(f"{path}: cannot read the file: {e}") from e
    finally:
        if fd >= 0:
            os.close(fd)
    lines = text.splitlines()
    while lines and not lines[-1].strip():
        lines.pop()
    return lines


def _parse_line(path: str, lineno: int, line: str) -> np.ndarray:
    stripped = line.strip()
    if not stripped:
        raise ResultFormatError(f"{path}:{lineno}: empty line inside the results")
    try:
        return np.array([float(t) for t in _SEPARATORS.split(stripped) if t], dtype=np.float64)
    except ValueError:
        raise ResultFormatError(f"{path}:{lineno}: cannot parse {stripped[:80]!r} as numbers") from None


def read_rows(path: str) -> List[np.ndarray]:
    """Every line of a result file as a float array (ragged: VOT mixes markers and regions)."""
    return [_parse_line(path, i, line) for i, line in enumerate(read_lines(path), start=1)]


def _rows_to_boxes(path: str, rows: Sequence[np.ndarray]) -> np.ndarray:
    boxes = np.full((len(rows), 4), np.nan)
    for i, r in enumerate(rows):
        if r.size == 4:
            boxes[i] = r
        elif r.size >= 6 and r.size % 2 == 0:
            # A polygon where a box is expected: its axis-aligned bounding box.
            xs, ys = r[0::2], r[1::2]
            boxes[i] = [xs.min(), ys.min(), xs.max() - xs.min(), ys.max() - ys.min()]
        elif r.size == 1 and np.isnan(r[0]):
            pass  # a lone "nan": no box in this frame
        else:
            raise ResultFormatError(f"{path}:{i + 1}: expected 4 numbers (x,y,w,h), got {r.size}")
    return boxes


def fast_matrix(lines: Sequence[str]) -> Optional[np.ndarray]:
    """``[N, K]`` float64 when every line holds the same number ``K`` of comma-separated
    numbers (the common case, parsed in one NumPy call); ``None`` for anything else,
    which the callers then parse line by line to report the bad line."""
    if not lines:
        return None
    commas = set(map(str.count, lines, repeat(",")))
    if len(commas) != 1:
        return None
    k = commas.pop() + 1
    with warnings.catch_warnings():
        # NumPy only warns (and stops) at an unparsable token; make that detectable.
        warnings.simplefilter("error")
        try:
            flat = np.fromstring("\n".join(lines).replace(",", " "), dtype=np.float64, sep=" ")
        except (ValueError, DeprecationWarning):
            return None
    if flat.size != k * len(lines):
        return None
    return flat.reshape(len(lines), k)


def read_boxes(path: str) -> np.ndarray:
    """``[N, 4]`` float64 ``x,y,w,h`` rows of a one-pass result file (NaN for missing boxes)."""
    lines = read_lines(path)
    matrix = fast_matrix(lines)
    if matrix is not None and matrix.shape[1] == 4:
        return matrix
    if not lines:
        return np.zeros((0, 4))
    return _rows_to_boxes(path, [_parse_line(path, i, line) for i, line in enumerate(lines, start=1)])


def read_values(path: str) -> np.ndarray:
    """``[N]`` one number per line (VOT-LT ``*_confidence.value``, timing files); NaN lines allowed."""
    rows = read_rows(path)
    out = np.full(len(rows), np.nan)
    for i, r in enumerate(rows):
        if r.size >= 1:
            out[i] = r[0]
    return out


def read_confidences(path: str) -> np.ndarray:
    """``[N]`` VOT-LT ``*_confidence.value``: one score per frame. The first line, the
    initialisation frame's, may be empty (the original PySOT's test.py writes it so);
    it is read as NaN. Any other empty line is an error naming the file and line."""
    lines = read_lines(path)
    out = np.full(len(lines), np.nan)
    for i, line in enumerate(lines):
        if i == 0 and not line.strip():
            continue
        row = _parse_line(path, i + 1, line)
        if row.size != 1:
            raise ResultFormatError(f"{path}:{i + 1}: expected one confidence value, got {row.size} numbers")
        out[i] = row[0]
    return out


# ---------------------------------------------------------------------- file lookup
def normalize_name(name: str) -> str:
    """Key under which result names and video names are matched: case-folded, with
    ``-``, ``_`` and ``.`` treated alike (``jogging_1`` == ``Jogging-1``)."""
    return re.sub(r"[-_.]", "-", name.lower())


#: pytracking names its result files ``<prefix>_<video>.txt`` for these benchmarks.
DATASET_PREFIXES = ("uav", "nfs", "otb", "lasot", "got10k")


def _file_kind(mode: int) -> str:
    for test, kind in ((stat.S_ISFIFO, "a FIFO"), (stat.S_ISSOCK, "a socket"), (stat.S_ISCHR, "a character device"),
                       (stat.S_ISBLK, "a block device"), (stat.S_ISDIR, "a folder")):
        if test(mode):
            return kind
    return "not a regular file"


def _plain_entries(directory: str) -> List[str]:
    """Names of the regular files and folders in ``directory`` (links followed), sorted; other
    entries (FIFOs, sockets, devices, broken links) are skipped with a warning naming them."""
    names, skipped = [], []
    try:
        with os.scandir(directory) as it:
            for entry in it:
                try:
                    plain = entry.is_file() or entry.is_dir()
                except OSError:
                    plain = False
                (names if plain else skipped).append(entry.name)
    except OSError:
        return []
    if skipped:
        logger.warning("%s: skipped %d entries that are neither regular files nor folders: %s", directory,
                       len(skipped), ", ".join(sorted(skipped)))
    return sorted(names)


class NameIndex:
    """Entries of one directory, found by exact name first, then by :func:`normalize_name`.

    Only regular files and folders are indexed (others are named in a warning)."""

    def __init__(self, directory: str, suffix: str = "") -> None:
        self.directory = directory
        self.suffix = suffix
        entries = _plain_entries(directory)
        self._exact: Dict[str, str] = {}
        self._loose: Dict[str, List[str]] = {}
        for entry in entries:
            if suffix and not entry.endswith(suffix):
                continue
            stem = entry[: len(entry) - len(suffix)] if suffix else entry
            self._exact[stem] = entry
            self._loose.setdefault(normalize_name(stem), []).append(entry)

    def find(self, name: str) -> Optional[str]:
        """Full path of the entry for ``name`` or ``None``; ambiguity is an error.

        Tried in order: the exact name, the :func:`normalize_name` match, then the same
        with a pytracking-style dataset prefix (``uav_bike1``, ``nfs_Gymnastics``, ...)."""
        for candidate in [name] + [f"{prefix}_{name}" for prefix in DATASET_PREFIXES]:
            if candidate in self._exact:
                return os.path.join(self.directory, self._exact[candidate])
            hits = self._loose.get(normalize_name(candidate), [])
            if len(hits) > 1:
                raise ResultFormatError(
                    f"{self.directory}: several entries match video '{name}': {', '.join(hits)}"
                )
            if hits:
                return os.path.join(self.directory, hits[0])
        return None

    def __len__(self) -> int:
        return len(self._exact)


# ---------------------------------------------------------------------- one-pass results
def _sizes_match(a: float, b: float) -> bool:
    return abs(a - b) <= max(1.5, 0.1 * abs(b))  # a pixel and a half, or 10%: rounding and the +1 convention


def corner_first_line(first: np.ndarray, gt_first: np.ndarray) -> bool:
    """True when the first line reads as ``x1,y1,x2,y2`` of the first ground-truth box: ``x2-x1``
    and ``y2-y1`` match its width and height while ``first[2:]`` as a size does not.

    Size, not overlap: the overlap test this replaces (IoU > 0.9 after conversion) missed small
    targets (OTB Biker, 16x26 px), where a pixel of offset costs more than 0.1 IoU.
    """
    w, h = float(gt_first[2]), float(gt_first[3])
    as_size = _sizes_match(first[2], w) and _sizes_match(first[3], h)
    as_corners = _sizes_match(first[2] - first[0], w) and _sizes_match(first[3] - first[1], h)
    return bool(as_corners and not as_size)


@dataclass
class CornerLines:
    """What to do with result files whose first line looks like ``x1,y1,x2,y2``, and which they were.

    ``convert`` False (the default): score the line as it is, as PySOT's toolkit does (it never
    converts), so published numbers are reproduced; True: convert it to ``x,y,w,h`` first.
    ``files`` collects the paths, so that one warning can name them all.
    """

    convert: bool = False
    files: List[str] = field(default_factory=list)

    def report(self, where: str) -> None:
        """One warning naming the files seen (nothing when none)."""
        if not self.files:
            return
        names = ", ".join(os.path.basename(p) for p in self.files)
        done = ("converted to x,y,w,h (--convert-corners)" if self.convert else
                "scored as written, as PySOT's toolkit does; --convert-corners converts them")
        logger.warning("%s: %d result file(s) start with a line that looks like x1,y1,x2,y2 (x2-x1, y2-y1 = the "
                       "first ground-truth box's size): %s; %s", where, len(self.files), names, done)


def align_boxes(path: str, boxes: np.ndarray, gt: np.ndarray, corners: Optional[CornerLines] = None) -> np.ndarray:
    """Fix the tolerated quirks of one-pass results against the ground truth ``gt [N, 4]``.

    * first line that looks like ``x1,y1,x2,y2`` (:func:`corner_first_line`) -> recorded in
      ``corners`` (a warning naming the file when ``corners`` is None) and converted only if
      ``corners.convert``;
    * one frame too few / too many -> NaN-padded at the end / truncated (warning);
    * any other length mismatch -> :class:`ResultFormatError`.
    """
    n = len(gt)
    if len(boxes) and n and np.isfinite(boxes[0]).all() and np.isfinite(gt[0]).all():
        if corner_first_line(boxes[0], gt[0]):
            single = corners is None
            corners = corners if corners is not None else CornerLines()
            corners.files.append(path)
            if corners.convert:
                boxes = boxes.copy()
                boxes[0, 2:] -= boxes[0, :2]
            if single:
                corners.report(path)
    if len(boxes) == n:
        return boxes
    if len(boxes) == n - 1:
        logger.warning("%s: %d boxes for %d frames; the last frame counts as a miss", path, len(boxes), n)
        return np.concatenate([boxes, np.full((1, 4), np.nan)])
    if len(boxes) == n + 1:
        logger.warning("%s: %d boxes for %d frames; the extra last line is ignored", path, len(boxes), n)
        return boxes[:n]
    raise ResultFormatError(f"{path}: {len(boxes)} boxes but the video has {n} frames")


def find_one_pass_files(files: NameIndex, folders: NameIndex, video_name: str) -> List[str]:
    """The result files of ``video_name`` in a tracker folder: ``[<video>.txt]`` (PySOT, OTB
    toolkits, pytracking with its dataset prefix), else every ``<video>/<video>_NNN.txt``
    repetition (GOT-10k toolkit, PySOT's test.py on GOT-10k), sorted; ``[]`` when none.
    ``files`` indexes the folder's ``.txt`` files, ``folders`` all its entries."""
    path = files.find(video_name)
    if path is not None:
        return [path]
    folder = folders.find(video_name)
    if folder is None or not os.path.isdir(folder):
        return []
    return find_repetitions(folder)


def find_one_pass_file(files: NameIndex, folders: NameIndex, video_name: str) -> Optional[str]:
    """The one result file OPE benchmarks score (see :func:`find_one_pass_files`); with
    several repetitions (``_002``...) the first is scored, with a warning."""
    runs = find_one_pass_files(files, folders, video_name)
    if len(runs) > 1:
        logger.warning("%s: %d repetitions; scoring the first, %s",
                       os.path.dirname(runs[0]), len(runs), os.path.basename(runs[0]))
    return runs[0] if runs else None


def _no_result_file(index: NameIndex, video_name: str) -> FileNotFoundError:
    return FileNotFoundError(
        f"{index.directory}: no result file for video '{video_name}' "
        f"(looked for {video_name}.txt and {video_name}/{video_name}_001.txt)"
    )


def load_one_pass(index: NameIndex, video_name: str, gt: np.ndarray, folders: Optional[NameIndex] = None,
                  corners: Optional[CornerLines] = None) -> np.ndarray:
    """Boxes ``[N, 4]`` of ``video_name`` from a tracker directory, aligned to ``gt``
    (``folders``: an index of the same directory for the ``<video>/<video>_001.txt`` layout;
    ``corners``: see :func:`align_boxes`)."""
    path = find_one_pass_file(index, folders or NameIndex(index.directory), video_name)
    if path is None:
        raise _no_result_file(index, video_name)
    return align_boxes(path, read_boxes(path), gt, corners)


def load_one_pass_runs(index: NameIndex, video_name: str, gt: np.ndarray,
                       folders: Optional[NameIndex] = None, corners: Optional[CornerLines] = None) -> List[np.ndarray]:
    """Every repetition of ``video_name`` (GOT-10k scores them all), each ``[N, 4]`` aligned to ``gt``."""
    paths = find_one_pass_files(index, folders or NameIndex(index.directory), video_name)
    if not paths:
        raise _no_result_file(index, video_name)
    return [align_boxes(path, read_boxes(path), gt, corners) for path in paths]


# ---------------------------------------------------------------------- VOT results
@dataclass
class VOTTrajectory:
    """One VOT run: ``codes [N]`` int (-1 = a region row, else 0 skip / 1 init / 2 failure)
    and ``regions``, the ragged rows (regions for code -1, the marker otherwise)."""

    path: str
    codes: np.ndarray
    regions: List[np.ndarray]

    @property
    def failures(self) -> np.ndarray:
        """Frame indices of failures (0-based)."""
        return np.flatnonzero(self.codes == VOT_FAILURE)

    @property
    def inits(self) -> np.ndarray:
        """Frame indices of (re-)initialisations (0-based)."""
        return np.flatnonzero(self.codes == VOT_INIT)


def check_vot_codes(path: str, codes: np.ndarray, skip_frames: int = VOT_SKIP_FRAMES) -> None:
    """Refuse a VOT baseline run whose marker lines break the protocol (message names file and line).

    A run starts with ``1``; a failure ``2`` is followed by ``skip_frames - 1`` skipped
    frames ``0`` and a re-initialisation ``1`` (as far as the video goes), as the
    original PySOT and the VOT toolkit write them. Anywhere else a ``0`` or ``1``
    would be read as a skipped or restarted frame that no failure explains, and
    silently change accuracy and EAO.
    """
    if len(codes) == 0:
        raise ResultFormatError(f"{path}: empty VOT result file")
    if codes[0] != VOT_INIT:
        got = "a region" if codes[0] == -1 else f"{codes[0]}"
        raise ResultFormatError(f"{path}:1: a VOT baseline run starts with 1 (initialisation), got {got}")
    expected = np.full(len(codes), -1)  # -1: a region or a failure may stand here
    expected[0] = VOT_INIT
    failure_of = np.zeros(len(codes), dtype=np.int64)  # the failure a 0/1 line belongs to
    for f in np.flatnonzero(codes == VOT_FAILURE):
        if expected[f] != -1:
            break  # this line breaks the pattern: reported below
        expected[f + 1 : f + skip_frames + 1] = VOT_SKIP
        if f + skip_frames < len(codes):
            expected[f + skip_frames] = VOT_INIT
        failure_of[f + 1 : f + skip_frames + 1] = f
    wrong = (codes != expected) & ~((expected == -1) & (codes == VOT_FAILURE))
    if not wrong.any():
        return
    i = int(np.flatnonzero(wrong)[0])
    got = "a region" if codes[i] == -1 else str(codes[i])
    if expected[i] == VOT_SKIP:
        want = f"0 (a skipped frame: the failure on line {failure_of[i] + 1} re-initialises {skip_frames} frames later)"
    elif expected[i] == VOT_INIT:
        want = f"1 (the re-initialisation {skip_frames} frames after the failure on line {failure_of[i] + 1})"
    elif codes[i] == VOT_SKIP:
        want = "a region or 2: a 0 (skipped frame) only follows a failure (2)"
    else:
        want = f"a region or 2: a 1 (initialisation) only starts the run or comes {skip_frames} frames after a failure"
    raise ResultFormatError(f"{path}:{i + 1}: expected {want}, got {got}")


def read_vot_trajectory(path: str, skip_frames: int = VOT_SKIP_FRAMES) -> VOTTrajectory:
    """One VOT baseline run: marker lines ``1``/``2``/``0`` and regions (4 or 2K >= 6 numbers),
    checked against the re-initialisation protocol (:func:`check_vot_codes`)."""
    rows = read_rows(path)
    codes = np.full(len(rows), -1, dtype=np.int64)
    for i, r in enumerate(rows):
        if r.size == 1:
            if r[0] not in (VOT_INIT, VOT_FAILURE, VOT_SKIP):
                raise ResultFormatError(f"{path}:{i + 1}: a one-number line must be 0, 1 or 2, got {r[0]:g}")
            codes[i] = int(r[0])
        elif r.size != 4 and (r.size < 6 or r.size % 2):
            raise ResultFormatError(f"{path}:{i + 1}: expected 1, 4 or 2K>=6 numbers, got {r.size}")
    check_vot_codes(path, codes, skip_frames)
    return VOTTrajectory(path, codes, rows)


def find_repetitions(video_dir: str) -> List[str]:
    """``<video>_001.txt``, ``<video>_002.txt``, ... of one VOT result folder, sorted."""
    entries = _plain_entries(video_dir)
    return [os.path.join(video_dir, e) for e in entries if _REPETITION.search(e)]


def align_vot(traj: VOTTrajectory, num_frames: int) -> VOTTrajectory:
    """Pad (with skip markers) or truncate a VOT run by at most one frame, with a warning."""
    n = len(traj.codes)
    if n == num_frames:
        return traj
    if abs(n - num_frames) > 1:
        raise ResultFormatError(f"{traj.path}: {n} lines but the video has {num_frames} frames")
    logger.warning("%s: %d lines for %d frames; aligned to the video", traj.path, n, num_frames)
    if n > num_frames:
        return VOTTrajectory(traj.path, traj.codes[:num_frames], traj.regions[:num_frames])
    return VOTTrajectory(
        traj.path, np.append(traj.codes, VOT_SKIP), traj.regions + [np.array([float(VOT_SKIP)])]
    )


# ---------------------------------------------------------------------- writing
def atomic_write_text(path: str, text: str) -> None:
    """Write ``text`` to ``path`` atomically (:func:`pysot.utils.fileio.atomic_open`),
    so a crash never leaves a half-written result that a resumed run would skip."""
    with atomic_open(path, "w") as f:
        f.write(text)


def _fmt(value: float) -> str:
    return "nan" if not np.isfinite(value) else f"{value:.4f}"


def format_rows(rows: Iterable[Sequence[float]]) -> str:
    """Result lines: numbers joined by commas, 4 decimals; one-number rows as integers (VOT markers)."""
    out = []
    for row in rows:
        row = np.atleast_1d(np.asarray(row, dtype=np.float64))
        if row.size == 1 and float(row[0]).is_integer():
            out.append(str(int(row[0])))
        else:
            out.append(",".join(_fmt(v) for v in row))
    return "\n".join(out) + "\n"


def write_rows(path: str, rows: Iterable[Sequence[float]]) -> None:
    """Atomically write result rows (boxes, polygons or VOT markers) to ``path``."""
    atomic_write_text(path, format_rows(rows))


def write_values(path: str, values: Iterable[float]) -> None:
    """Atomically write one number per line (confidence scores, times)."""
    atomic_write_text(path, "".join("nan\n" if not np.isfinite(v) else f"{float(v):.6f}\n" for v in values))


def load_vot_runs(experiment_dir: str, video_name: str, num_frames: int, index: Optional[NameIndex] = None) -> List[VOTTrajectory]:
    """Every repetition of ``video_name`` under ``<tracker>/<experiment>/`` (e.g. ``baseline``)."""
    index = index or NameIndex(experiment_dir)
    folder = index.find(video_name)
    if folder is None or not os.path.isdir(folder):
        raise FileNotFoundError(f"{experiment_dir}: no result folder for video '{video_name}'")
    paths = find_repetitions(folder)
    if not paths:
        raise FileNotFoundError(f"{folder}: no <video>_001.txt result files")
    return [align_vot(read_vot_trajectory(p), num_frames) for p in paths]
