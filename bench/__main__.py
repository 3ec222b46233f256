"""`make bench`: run every bench/bench_*.py and write bench/RESULTS.md.

Each benchmark module has `async def run() -> list[Figure]`: its figures, each with the
reference measured in the same run, so the ratio means something on any machine.
"""

from __future__ import annotations

import asyncio
import importlib
import os
import platform
import sys
from datetime import UTC, datetime
from pathlib import Path

from bench.figures import Figure

HERE = Path(__file__).resolve().parent


def main() -> int:
    names = sorted(p.stem for p in HERE.glob("bench_*.py"))
    only = set(sys.argv[1:])
    figures: list[tuple[str, Figure]] = []
    for name in names:
        if only and name not in only:
            continue
        module = importlib.import_module(f"bench.{name}")
        print(f"== {name}: {module.__doc__.strip().splitlines()[0] if module.__doc__ else ''}")
        for figure in asyncio.run(module.run()):
            print("  " + figure.line())
            figures.append((name, figure))
    _write(figures)
    print(f"wrote {HERE / 'RESULTS.md'}")
    return 0


def _write(figures: list[tuple[str, Figure]]) -> None:
    lines = [
        "# Benchmark results",
        "",
        f"Written by `make bench` on {datetime.now(UTC):%Y-%m-%d %H:%M} UTC; "
        f"{os.cpu_count()} cores, Python {platform.python_version()}, {platform.machine()}.",
        "Every reference is measured in the same run; ratio = figure / reference.",
        "",
        "| benchmark | figure | value | reference | reference value | ratio |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    lines += [f"| {name} | {figure.row()} |" for name, figure in figures]
    (HERE / "RESULTS.md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    sys.exit(main())
