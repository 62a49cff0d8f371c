"""toolkit.cli: the tools' one-line error reports and Ctrl-C handling."""
import logging

import pytest

from toolkit.cli import EXIT_ERROR, EXIT_INTERRUPTED, error_text, run_main


class Records(logging.Handler):
    def __init__(self):
        super().__init__()
        self.messages = []

    def emit(self, record):
        self.messages.append((record.levelno, record.getMessage()))


@pytest.fixture
def logger():
    log = logging.getLogger("pysot.test_cli")
    handler = Records()
    log.addHandler(handler)
    yield log, handler.messages
    log.removeHandler(handler)


def _raise(error):
    def main():
        raise error
    return main


@pytest.mark.parametrize("error, text", [
    (FileNotFoundError("results folder not found: r/OTB100"), "results folder not found: r/OTB100"),
    (ValueError("a.txt:5: cannot parse 'x'"), "a.txt:5: cannot parse 'x'"),
    (KeyError("no 'OTB99' in the datasets registry"), "no 'OTB99' in the datasets registry"),  # no extra quotes
    (RuntimeError("--device cuda: no CUDA GPU is available"), "--device cuda: no CUDA GPU is available"),
])
def test_user_errors_are_one_line(logger, error, text):
    log, messages = logger
    assert run_main(_raise(error), log) == EXIT_ERROR
    assert messages == [(logging.ERROR, text)]
    assert error_text(error) == text


def test_ctrl_c_is_a_note_not_a_traceback(logger):
    log, messages = logger
    assert run_main(_raise(KeyboardInterrupt()), log, "interrupted; run again to resume") == EXIT_INTERRUPTED
    assert messages == [(logging.WARNING, "interrupted; run again to resume")]


def test_programming_errors_keep_their_traceback(logger):
    log, _ = logger
    with pytest.raises(TypeError):
        run_main(_raise(TypeError("a bug")), log)
    assert run_main(lambda: 0, log) == 0
