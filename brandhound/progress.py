"""A progress line redrawn in place on a terminal, for long commands (leak scans, evaluate, exports, start-ups).

Drawn by rich's ``Live`` (transient: it leaves nothing behind), as the crawl's line is; rich is imported
on the first redraw only, so a command that draws nothing (``--help``, a pipe) does not pay for it.

Off unless the stream is a terminal (or the caller forces it): output sent to a file, a pipe, Airflow's
log or CI never carries carriage returns. Commands write it to standard error, so ``--json`` output on
standard output is never mixed with it. Crawls have their own Scrapy extension (``crawlers/progress.py``).
"""

from __future__ import annotations

import time
from typing import Any, Callable, TextIO

#: How often the line is redrawn at most (seconds): a fast loop must not spend its time on the terminal.
REDRAW_EVERY = 0.5
#: Longest line drawn; longer text is cut at its start (a path's end says more than its beginning).
WIDTH = 100


def is_terminal(stream: TextIO) -> bool:
    isatty: Callable[[], bool] = getattr(stream, "isatty", lambda: False)
    try:
        return bool(isatty())
    except ValueError:  # a closed stream
        return False


class ProgressLine:
    """``update(text)`` redraws one line on ``stream``; ``done()`` clears it before the command's last words."""

    def __init__(self, stream: TextIO, enabled: bool | None = None, *, clock: Callable[[], float] = time.monotonic):
        self.stream = stream
        self.enabled = is_terminal(stream) if enabled is None else enabled
        self.clock = clock
        self.last = float("-inf")
        self.shown = False
        self._live: Any = None

    def update(self, text: str, *, force: bool = False) -> bool:
        """Redraw with ``text`` unless the last redraw was under :data:`REDRAW_EVERY` ago; True if drawn."""
        if not self.enabled:
            return False
        now = self.clock()
        if not force and now - self.last < REDRAW_EVERY:
            return False
        self.last = now
        if len(text) > WIDTH:
            text = "..." + text[-(WIDTH - 3):]
        from rich.text import Text

        if self._live is None:
            from rich.console import Console
            from rich.live import Live

            # Our own throttle decides when to redraw: no refresh thread, no capture of other output.
            console = Console(file=self.stream, force_terminal=True, width=WIDTH + 1, color_system=None)
            self._live = Live(console=console, auto_refresh=False, transient=True,
                              redirect_stdout=False, redirect_stderr=False)
            self._live.start()
        self._live.update(Text(text, no_wrap=True, overflow="crop"), refresh=True)
        self.stream.flush()
        self.shown = True
        return True

    def done(self) -> None:
        """Clear the line, so what the command prints next starts at the left margin."""
        if self._live is not None:
            self._live.stop()
            self._live = None
            self.stream.flush()
        self.shown = False
