"""Progress bars: the kit's small module (``controlpanel.kit.progress``) against ``tqdm``.

Counts ``--updates`` steps (1,000,000 by default) three ways per bar, each writing to a
file that is not a terminal, as a command's stderr is under cron or a pipe:

- ``advance()``/``update(n)`` once per record, the way the import and the review count;
- the output written: bytes, and redraws (carriage returns);
- whether the bar is drawn at all when the stream is not a terminal and nobody asked.

Prints the time per update of each and their ratio, measured in this one run.

Run: .venv/bin/python benchmarks/progress.py [--updates 1000000]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def kit_bar(stream, total):
    from controlpanel.kit.progress import ProgressBar

    return ProgressBar(stream, total, "users")


def tqdm_bar(stream, total):
    from tqdm import tqdm

    # The settings a command would use: on the given stream, drawn even though it is not a
    # terminal (as --progress asks), redrawn at most five times a second like the kit's.
    return tqdm(total=total, file=stream, desc="users", mininterval=0.2, ascii=True)


def tqdm_default(stream, total):
    from tqdm import tqdm

    return tqdm(total=total, file=stream, desc="users", disable=None)  # None: off without a TTY


def run(make, updates: int) -> dict:
    with tempfile.TemporaryFile("w+", newline="") as stream:  # keep "\r" as written
        bar = make(stream, updates)
        start = time.perf_counter()
        step = getattr(bar, "advance", None) or bar.update
        for _ in range(updates):
            step(1)
        seconds = time.perf_counter() - start
        (getattr(bar, "finish", None) or bar.close)()
        stream.seek(0)
        text = stream.read()
    return {
        "seconds": seconds,
        "per_update_ns": seconds / updates * 1e9,
        "bytes": len(text),
        "redraws": text.count("\r"),
        "last": text.rstrip("\n").rsplit("\r", 1)[-1],
    }


def import_ms(module: str) -> float:
    """Milliseconds to import ``module`` in a fresh interpreter (``-X importtime``)."""
    import subprocess

    err = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", f"import {module}"],
        capture_output=True,
        text=True,
        cwd=Path(__file__).resolve().parent.parent,
        check=True,
    ).stderr
    line = [row for row in err.splitlines() if row.rstrip().endswith(f"| {module}")][-1]
    return int(line.split("|")[1]) / 1000  # cumulative microseconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--updates", type=int, default=1_000_000)
    updates = parser.parse_args().updates
    results = {
        "kit ProgressBar": run(kit_bar, updates),
        "tqdm (as --progress would use it)": run(tqdm_bar, updates),
        "tqdm (disable=None, no TTY)": run(tqdm_default, updates),
    }
    print(f"{updates:,} updates, to a file that is not a terminal")
    print(f"{'bar':<36}{'total':>9}{'per update':>13}{'bytes':>9}{'redraws':>9}")
    for name, r in results.items():
        print(
            f"{name:<36}{r['seconds']:>8.2f}s{r['per_update_ns']:>10.0f} ns"
            f"{r['bytes']:>9}{r['redraws']:>9}"
        )
    for name, r in results.items():
        print(f"  last line of {name}: {r['last']!r}")
    print(
        f"import time: controlpanel.kit.progress {import_ms('controlpanel.kit.progress'):.1f} ms,"
        f" tqdm {import_ms('tqdm'):.1f} ms"
    )
    kit = results["kit ProgressBar"]["per_update_ns"]
    tqdm_ns = results["tqdm (as --progress would use it)"]["per_update_ns"]
    print(f"tqdm / kit time per update: {tqdm_ns / kit:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
