"""One progress bar for the long-running management commands (``import_access``,
``export_access``, ``access_review``, ``benchmarks/generate_access_data.py``).

``Label [#########---------------------]  30% 300/1000`` is redrawn in place on one line
of a stream (stderr), at most five times a second, and ended with a newline. Commands show
it when their stderr is a terminal or when asked with ``--progress``
(``wanted(stderr, asked)``), so output sent to a file or a script stays unchanged.
"""

from __future__ import annotations

import time


def wanted(stream, asked: bool) -> bool:
    """Show a bar when asked, or when ``stream`` is a terminal."""
    if asked:
        return True
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty and isatty())
    except ValueError:  # a closed stream
        return False


class ProgressBar:
    """A bar on ``stream`` (a file or a Django ``OutputWrapper``) counting to ``total``."""

    WIDTH = 30
    INTERVAL = 0.2  # seconds between redraws

    def __init__(self, stream, total: int, label: str, *, unit: str = ""):
        self.stream = stream
        self.total = max(int(total), 0)
        self.label = label
        self.unit = unit
        self.done = 0
        self._shown = float("-inf")
        self._drawn: int | None = None
        self._finished = False

    def advance(self, step: int = 1) -> None:
        self.update(self.done + step)

    def update(self, done: int) -> None:
        self.done = done
        now = time.monotonic()
        if now - self._shown >= self.INTERVAL or (self.total and done >= self.total):
            self._shown = now
            self._draw()

    def finish(self) -> None:
        """Draw the final state and end the line; a second call does nothing."""
        if self._finished:
            return
        self._finished = True
        if self._drawn != self.done:
            self._draw()
        self._write("\n")

    def _draw(self) -> None:
        self._drawn = self.done
        fraction = min(self.done / self.total, 1.0) if self.total else 1.0
        filled = int(self.WIDTH * fraction)
        bar = "#" * filled + "-" * (self.WIDTH - filled)
        counts = f"{self._amount(self.done)}/{self._amount(self.total)}{self.unit}"
        self._write(f"\r{self.label} [{bar}] {fraction:4.0%} {counts}")

    def _amount(self, value: int) -> str:
        if self.unit == " MiB":
            return f"{value / 2**20:.1f}"
        return str(value)

    def _write(self, text: str) -> None:
        if hasattr(self.stream, "style_func"):  # Django's OutputWrapper
            self.stream.write(text, style_func=str, ending="")
        else:
            self.stream.write(text)
        self.stream.flush()


class NoProgress:
    """Stands in for a bar when none is shown."""

    done = 0
    total = 0

    def advance(self, step: int = 1) -> None:
        pass

    def update(self, done: int) -> None:
        pass

    def finish(self) -> None:
        pass


def progress_bar(stream, total: int, label: str, *, show: bool, unit: str = ""):
    """A ``ProgressBar`` when ``show``, else a ``NoProgress`` with the same methods."""
    return ProgressBar(stream, total, label, unit=unit) if show else NoProgress()
