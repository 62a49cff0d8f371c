"""Small trainer components: the Ctrl-C / SIGTERM stop request."""
import os
import signal

import pytest

from pysot.training.components import StopRequest


def test_first_signal_requests_a_stop_and_a_later_ctrl_c_aborts():
    before = signal.getsignal(signal.SIGINT)
    with StopRequest(log=False, repeat_after=3600) as stop:
        assert not stop.requested
        os.kill(os.getpid(), signal.SIGINT)
        assert stop.requested and stop.signum == signal.SIGINT
        os.kill(os.getpid(), signal.SIGINT)  # the same Ctrl-C forwarded again (torchrun): ignored
        stop.repeat_after = 0.0
        with pytest.raises(KeyboardInterrupt):
            os.kill(os.getpid(), signal.SIGINT)
    assert signal.getsignal(signal.SIGINT) is before  # handlers are restored


def test_sigterm_requests_a_stop():
    before = signal.getsignal(signal.SIGTERM)
    with StopRequest(log=False, repeat_after=0.0) as stop:
        os.kill(os.getpid(), signal.SIGTERM)
        assert stop.signum == signal.SIGTERM
        os.kill(os.getpid(), signal.SIGTERM)  # never escalates to an abort
        assert stop.signum == signal.SIGTERM
    assert signal.getsignal(signal.SIGTERM) is before


def test_stop_notice_bypasses_buffered_stderr(capfd, monkeypatch):
    # The signal can land while the main thread is inside a write to sys.stderr; logging from the
    # handler would re-enter that buffered stream ("reentrant call") and print a traceback.
    import sys

    class Busy:
        def write(self, text):
            raise RuntimeError("reentrant call inside <_io.BufferedWriter name='<stderr>'>")

        def flush(self):
            raise RuntimeError("reentrant call")

    import logging

    with StopRequest(log=True, repeat_after=3600) as stop:
        monkeypatch.setattr(sys, "stderr", Busy())
        for handler in logging.getLogger("pysot").handlers:
            monkeypatch.setattr(handler, "stream", Busy(), raising=False)
        stop._handle(signal.SIGINT, None)
        monkeypatch.undo()
    assert stop.requested
    err = capfd.readouterr().err
    assert "SIGINT: stopping after this iteration" in err and "Logging error" not in err
