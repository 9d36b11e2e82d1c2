"""Progress lines of long commands: drawn in place on a terminal, never into files, pipes or --json."""

from __future__ import annotations

import argparse
import io
import sys

from brandhound.progress import WIDTH, ProgressLine
from sandbox.commands import _progress
from sandbox.processes import start_process, terminate


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


class _Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_off_when_the_stream_is_not_a_terminal():
    stream = io.StringIO()
    bar = ProgressLine(stream)
    assert not bar.enabled
    assert bar.update("evaluate: images (1 of 4)", force=True) is False
    bar.done()
    assert stream.getvalue() == ""


def test_redrawn_in_place_at_most_every_half_second_and_cleared():
    stream, clock = _Terminal(), _Clock()
    bar = ProgressLine(stream, clock=clock)
    assert bar.enabled
    assert bar.update("step 1")
    assert not bar.update("step 2")  # too soon
    clock.now += 0.6
    assert bar.update("step 3")
    drawn = stream.getvalue()
    assert "step 1" in drawn and "step 3" in drawn and "step 2" not in drawn
    assert "\n" not in drawn  # redrawn in place, not one line per step
    bar.done()
    assert stream.getvalue().endswith("\x1b[2K")  # the line is erased, the cursor at its start
    assert bar.update("again", force=True)  # a line can be drawn again after done()
    bar.done()


def test_a_long_line_keeps_its_end():
    stream = _Terminal()
    ProgressLine(stream).update("x" * 200 + "/the/file/name")
    drawn = stream.getvalue().removeprefix("\x1b[?25l")  # rich hides the cursor first
    assert len(drawn) == WIDTH and drawn.endswith("/the/file/name") and drawn.startswith("...")


def test_sandbox_commands_turn_it_off_for_json_and_quiet(monkeypatch):
    monkeypatch.setattr(sys, "stderr", _Terminal())
    assert _progress(argparse.Namespace(quiet=False, json=False)).enabled
    assert not _progress(argparse.Namespace(quiet=True, json=False)).enabled
    assert not _progress(argparse.Namespace(quiet=False, json=True)).enabled


def test_a_start_up_reports_its_childs_latest_log_line(tmp_path):
    log = tmp_path / "child.log"
    # The child says what it does, then after a second that it is ready; the parent polls the log.
    child = ("import time; print('generating relay keys', flush=True); time.sleep(1.5); "
             "print('ready', flush=True); time.sleep(60)")
    heard: list[str] = []
    proc = start_process([sys.executable, "-c", child], what="the test child", log=log,
                         ready=lambda: "ready" in log.read_text() if log.exists() else False, deadline_s=30,
                         stop=terminate, progress=heard.append)
    try:
        assert heard and all(h.startswith("the test child: ") for h in heard)
        assert any(h.endswith("generating relay keys") for h in heard)
    finally:
        terminate(proc)
