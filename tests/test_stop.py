"""SIGTERM as Ctrl-C (automl.backends.stop): raised where the search can clean up, never inside a storage write
or a storage read it would tear. The end-to-end tests (real searches killed by SIGTERM and SIGKILL) are in
tests/test_optuna_backend.py."""

from __future__ import annotations

import os
import signal
import time

import pytest

from automl.backends.stop import Terminated, sigterm_as_interrupt
from automl.trial import shielded


@pytest.fixture(autouse=True)
def default_handlers():
    """Start each test from the handlers a fresh process has: earlier tests in the same pytest process (Ray's
    init, Tune's fit) install SIGTERM/SIGINT handlers of their own."""
    saved = signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGTERM, saved[0])
    signal.signal(signal.SIGINT, saved[1])


def _sigterm_self() -> None:
    os.kill(os.getpid(), signal.SIGTERM)
    for _ in range(50):  # the handler runs between two bytecodes of this loop
        time.sleep(0.001)


def test_sigterm_raises_terminated_a_keyboard_interrupt_with_exit_code_143():
    with pytest.raises(Terminated) as e, sigterm_as_interrupt():
        _sigterm_self()
    assert isinstance(e.value, KeyboardInterrupt) and e.value.exit_code == 143
    assert signal.getsignal(signal.SIGTERM) == signal.SIG_DFL  # restored after the block


def test_sigterm_inside_a_shielded_storage_write_is_raised_when_the_write_is_done():
    steps = []
    with pytest.raises(Terminated), sigterm_as_interrupt():
        with shielded():
            _sigterm_self()
            steps.append("write finished")
        steps.append("after the write")  # never reached: raised as the shielded block ends
    assert steps == ["write finished"]


def test_a_second_sigterm_does_not_tear_the_clean_up():
    steps = []
    with pytest.raises(Terminated), sigterm_as_interrupt():
        try:
            _sigterm_self()
        finally:
            _sigterm_self()  # ignored: the first one is being handled
            steps.append("cleaned up")
    assert steps == ["cleaned up"]


def test_ctrl_c_inside_a_shielded_block_is_raised_when_it_ends():
    steps = []
    with pytest.raises(KeyboardInterrupt) as e, sigterm_as_interrupt():
        with shielded():
            os.kill(os.getpid(), signal.SIGINT)
            for _ in range(50):
                time.sleep(0.001)
            steps.append("read finished")
        steps.append("never")
    assert steps == ["read finished"] and not isinstance(e.value, Terminated)
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
