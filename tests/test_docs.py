"""Every Python block and shell command of README.md and docs/*.md runs, so the docs cannot drift.

Rules (a block is a fenced code block):

* ``python`` blocks of one page run in order in one namespace, in-process.
* ``bash`` blocks: every command (continuation lines joined, comments dropped, ``&&`` splits)
  runs with ``python`` = this interpreter and this checkout first on ``PYTHONPATH``.
* Both run in a scratch folder whose ``tools``, ``experiments``, ``pysot``, ... link to the
  checkout, so what they write (``demo.mp4``, ``onnx/``) never lands in the repository.
* A block that cannot run is marked on the line before it, and the reason is reported::

      <!-- doc-test: skip -- REASON -->
      <!-- doc-test: skip-commands PREFIX | PREFIX -- REASON -->   (commands starting with a PREFIX)

* An untagged block must not hold commands (it would escape these rules): tag it ``bash``.
"""
from __future__ import annotations

import glob
import importlib.util
import os
import re
import shlex
import subprocess
import sys
import sysconfig
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple

import pytest

from shared_paths import REPO, SHARED  # noqa: E402

PAGES = ["README.md"] + sorted(os.path.relpath(p, REPO) for p in glob.glob(os.path.join(REPO, "docs", "*.md")))
LINKED = ["tools", "experiments", "configs", "pysot", "toolkit", "tests", "training_dataset"]
MARKER = re.compile(r"^<!--\s*doc-test:\s*(skip-commands|skip)\s*(.*?)\s+--\s+(.+?)\s*-->\s*$")
FENCE = re.compile(r"^```(\S*)\s*$")
COMMAND_START = re.compile(r"^(python|torchrun|pip|OMP_\w+=|bash|\./)")
COMMAND_TIMEOUT_S = 180


@dataclass
class Block:
    page: str
    line: int  # 1-based line of the opening fence
    lang: str
    text: str
    skip: Optional[str] = None  # reason
    skip_prefixes: List[str] = field(default_factory=list)
    skip_commands_reason: str = ""

    @property
    def id(self) -> str:
        return f"{self.page}:{self.line}"


def read_blocks(page: str) -> List[Block]:
    lines = open(os.path.join(REPO, page), encoding="utf-8").read().splitlines()
    blocks, i = [], 0
    while i < len(lines):
        m = FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        start, body = i, []
        i += 1
        while i < len(lines) and not lines[i].startswith("```"):
            body.append(lines[i])
            i += 1
        i += 1
        block = Block(page, start + 1, m.group(1).lower(), "\n".join(body))
        before = lines[start - 1] if start > 0 else ""
        marker = MARKER.match(before)
        if before.lstrip().startswith("<!-- doc-test") and not marker:
            raise AssertionError(f"{page}:{start}: malformed doc-test marker {before!r}")
        if marker:
            kind, args, reason = marker.groups()
            if kind == "skip":
                block.skip = reason
            else:
                block.skip_prefixes = [p.strip() for p in args.split("|") if p.strip()]
                block.skip_commands_reason = reason
        blocks.append(block)
    return blocks


ALL_BLOCKS = [b for page in PAGES for b in read_blocks(page)]
RUNNABLE = [b for b in ALL_BLOCKS if b.lang in ("python", "bash", "sh", "shell")]


def shell_commands(text: str) -> List[str]:
    """Commands of a shell block: ``\\`` continuations joined, comments dropped, ``&&`` split."""
    joined = re.sub(r"\\\n", " ", text)
    commands = []
    for line in joined.splitlines():
        tokens = shlex.split(line, comments=True)
        current: List[str] = []
        for tok in tokens + ["&&"]:
            if tok == "&&":
                if current:
                    commands.append(shlex.join(current))
                current = []
            else:
                current.append(tok)
    return commands


# Files the docs tell users to download, linked into the sandbox from ../shared where it is there;
# a command naming one that is absent is skipped.
DOWNLOADS = {"nanotrackv2.pth": ("weights", "nanotrack", "nanotrackv2.pth"), "bag.avi": ("data", "videos", "bag.avi")}
# Optional modules (the [test] extra) that a block needs when its text holds the key: without
# the module the block is skipped (the ONNX export, and the OpenCV trackers that load its files).
OPTIONAL_MODULES = {"export_onnx.py": "onnx", "TrackerDaSiamRPN": "onnx"}


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory):
    root = tmp_path_factory.mktemp("docs")
    for name in LINKED:
        os.symlink(os.path.join(REPO, name), root / name)
    for name, parts in DOWNLOADS.items():
        if os.path.isfile(os.path.join(SHARED, *parts)):
            os.symlink(os.path.join(SHARED, *parts), root / name)
    bin_dir = root / "bin"
    bin_dir.mkdir()
    write_python_wrapper(bin_dir / "python")
    return root


def write_python_wrapper(path) -> None:
    """``python`` for the commands: a script that execs this interpreter by its own path.

    A symlink would not do: Python finds a virtual environment by the ``pyvenv.cfg`` beside the
    path it was started as, so a symlink in another folder starts the venv's *base* interpreter
    (pyenv's, without torch or cv2). Exec'ing ``sys.executable`` itself keeps venvs, conda and
    system Pythons alike.
    """
    with open(path, "w", encoding="utf-8") as f:
        f.write(f"#!/bin/sh\nexec {shlex.quote(sys.executable)} \"$@\"\n")
    os.chmod(path, 0o755)


def command_path(cwd: str) -> str:
    """PATH for the commands: the sandbox's ``python``, then this interpreter's scripts
    (``torchrun``, as an activated venv or conda env would have them), then the caller's PATH."""
    scripts = sysconfig.get_path("scripts")
    return os.pathsep.join([os.path.join(cwd, "bin"), scripts, os.environ.get("PATH", "")])


@pytest.fixture(scope="module")
def namespaces():
    return {}


@pytest.fixture(scope="module", autouse=True)
def _restore_registries():
    """Blocks register example components (README's MyHead): forget them afterwards."""
    from pysot.core import registry

    yield
    # Classes defined by a block carry the block namespace's __name__ ("doc:<page>") as __module__;
    # everything else stays (registries are also filled by imports made while the blocks ran).
    for r in vars(registry).values():
        if isinstance(r, registry.Registry):
            r._entries = {k: v for k, v in r._entries.items()
                          if not str(getattr(v, "__module__", "")).startswith("doc:")}


_RESULTS: Dict[str, Tuple[int, str]] = {}  # identical commands on several pages run once


def _run(command: str, cwd: str) -> Tuple[int, str]:
    if command not in _RESULTS:
        env = dict(os.environ, PYTHONPATH=REPO + os.pathsep + os.environ.get("PYTHONPATH", ""),
                   PATH=command_path(cwd),
                   OMP_NUM_THREADS=os.environ.get("OMP_NUM_THREADS", "1"), MPLBACKEND="Agg")
        env.pop("DISPLAY", None)  # the demo must not wait for a mouse selection
        proc = subprocess.run(["bash", "-c", command], cwd=cwd, env=env, capture_output=True, text=True,
                              timeout=COMMAND_TIMEOUT_S)
        _RESULTS[command] = (proc.returncode, (proc.stdout + proc.stderr)[-3000:])
    return _RESULTS[command]


@pytest.mark.parametrize("block", RUNNABLE, ids=[b.id for b in RUNNABLE])
def test_doc_block_runs(block, sandbox, namespaces, monkeypatch):
    if block.skip:
        pytest.skip(f"marked in {block.page}: {block.skip}")
    missing = sorted({module for key, module in OPTIONAL_MODULES.items()
                      if key in block.text and importlib.util.find_spec(module) is None})
    if missing:
        pytest.skip(f"needs {', '.join(missing)} (pip install -e '.[test]')")
    if block.lang == "python":
        monkeypatch.chdir(sandbox)
        namespace = namespaces.setdefault(block.page, {"__name__": f"doc:{block.page}"})
        code = compile(block.text, f"{block.id} (python block)", "exec")
        exec(code, namespace)  # noqa: S102 - the docs' own examples
        return
    commands = shell_commands(block.text)
    run = [c for c in commands if not any(c.startswith(p) for p in block.skip_prefixes)]
    if not run:
        pytest.skip(f"marked in {block.page}: {block.skip_commands_reason}")
    absent = sorted(n for n in DOWNLOADS if n in " ".join(run) and not (sandbox / n).exists())
    if absent:
        pytest.skip(f"needs {', '.join(absent)} (from ../shared where present)")
    for command in run:
        rc, output = _run(command, str(sandbox))
        assert rc == 0, f"{block.id}: `{command}` exited {rc}:\n{output}"


def test_every_block_with_commands_is_tagged():
    untagged = [b.id for b in ALL_BLOCKS if b.lang == ""
                and any(COMMAND_START.match(line.strip()) for line in b.text.splitlines())]
    assert untagged == [], f"tag these blocks ```bash (and run or mark them): {untagged}"


def test_markers_name_a_reason_and_match_commands():
    for b in ALL_BLOCKS:
        if b.skip_prefixes:
            commands = shell_commands(b.text)
            for prefix in b.skip_prefixes:
                assert any(c.startswith(prefix) for c in commands), f"{b.id}: no command starts with {prefix!r}"
    assert any(b.skip for b in ALL_BLOCKS) and all(len(b.skip) > 10 for b in ALL_BLOCKS if b.skip)


def test_readme_first_commands_write_into_the_working_folder(sandbox):
    """The README's first command: runs, writes demo.mp4 where it is run (not the repository)."""
    first = next(b for b in RUNNABLE if b.page == "README.md")
    demo = [c for c in shell_commands(first.text) if c.startswith("python tools/demo.py")]
    assert demo == ["python tools/demo.py --output demo.mp4"]
    rc, output = _run(demo[0], str(sandbox))
    assert rc == 0, output
    assert os.path.getsize(sandbox / "demo.mp4") > 0


def test_blocks_needing_an_absent_optional_module_are_skipped(sandbox, namespaces, monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "onnx" else real(name, *a))
    for lang, text in (("bash", "python tools/export_onnx.py --config x.yaml --opencv onnx/x"),
                       ("python", "import cv2\ncv2.TrackerDaSiamRPN_create(cv2.TrackerDaSiamRPN_Params())")):
        with pytest.raises(pytest.skip.Exception, match="needs onnx"):
            test_doc_block_runs(Block("docs/x.md", 1, lang, text), sandbox, namespaces, monkeypatch)


def test_shell_command_splitting():
    text = "pip install -e . && python a.py --x 1   # note\npython b.py \\\n    --y 'two words'\n# only a comment"
    assert shell_commands(text) == ["pip install -e .", "python a.py --x 1", "python b.py --y 'two words'"]


def test_tool_outputs_are_ignored_by_git():
    if not os.path.isdir(os.path.join(REPO, ".git")) and not os.path.isfile(os.path.join(REPO, ".git")):
        pytest.skip("not a git checkout")
    paths = ["demo.mp4", "results/OTB100/x/a.txt", "snapshot/latest.pth", "logs/train.log",
             "plots/OTB100/success.png", "onnx/x.onnx"]
    # and every file the docs' commands write in the working folder (--output, --boxes, --json)
    for block in RUNNABLE:
        if block.lang != "python":
            for command in shell_commands(block.text):
                words = shlex.split(command)
                paths += [words[i + 1] for i, w in enumerate(words[:-1])
                          if w in ("--output", "--boxes", "--json") and not words[i + 1].startswith(("/", ".."))]
    paths = sorted(set(paths))
    proc = subprocess.run(["git", "check-ignore", "--no-index", *paths], cwd=REPO, capture_output=True, text=True)
    assert sorted(proc.stdout.split()) == sorted(paths)


def test_commands_run_in_this_interpreters_environment(sandbox):
    """``python`` in a command is this interpreter with its environment (a venv over pyenv's
    Python, conda, system): same prefix and packages, and this environment's scripts on PATH."""
    code = "import sys, torch, cv2; print(sys.prefix)"
    rc, output = _run(f"python -c {shlex.quote(code)}", str(sandbox))
    assert rc == 0, output
    assert output.strip().splitlines()[-1] == sys.prefix
    rc, output = _run("command -v python", str(sandbox))
    assert output.strip() == str(sandbox / "bin" / "python")
    assert command_path(str(sandbox)).split(os.pathsep)[1] == sysconfig.get_path("scripts")


def test_install_commands_name_extras_that_exist():
    """Every ``pip install -e ".[X]"`` the docs and tools print names an extra of pyproject.toml
    (export: tools/export_onnx.py's error; tensorboard: docs/training.md)."""
    import tomllib

    with open(os.path.join(REPO, "pyproject.toml"), "rb") as f:
        extras = set(tomllib.load(f)["project"]["optional-dependencies"])
    texts = [open(os.path.join(REPO, p), encoding="utf-8").read() for p in PAGES]
    texts += [open(p, encoding="utf-8").read() for p in glob.glob(os.path.join(REPO, "tools", "*.py"))]
    named = {x for text in texts for group in re.findall(r'-e "\.\[([^\]]+)\]"', text) for x in group.split(",")}
    assert {"export", "tensorboard", "test"} <= named and named <= extras, named - extras
