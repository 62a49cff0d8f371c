"""The Triton depthwise kernel, run by Triton's CPU interpreter (no GPU needed)."""
import os
import subprocess
import sys

import pytest

TESTS = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.mark.slow
def test_triton_kernel_matches_grouped_conv_and_fixture():
    pytest.importorskip("triton")
    env = dict(os.environ, TRITON_INTERPRET="1", PYTHONPATH=os.pathsep.join([TESTS, os.environ.get("PYTHONPATH", "")]))
    proc = subprocess.run([sys.executable, os.path.join(TESTS, "speed", "triton_interpreter_check.py")],
                          env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "triton kernel ok" in proc.stdout


def test_triton_kernel_refuses_cpu_tensors_without_interpreter():
    pytest.importorskip("triton")
    import torch

    from pysot.core import xcorr_triton

    if xcorr_triton.interpreted():
        pytest.skip("TRITON_INTERPRET is set in this process")
    with pytest.raises((RuntimeError, ValueError), match="CUDA"):
        xcorr_triton.xcorr_depthwise_triton(torch.zeros(1, 2, 5, 5), torch.zeros(1, 2, 3, 3))
