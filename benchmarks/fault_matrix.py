"""The fault matrix (issue 13, R6) as a table: template × PSA → runs needed, write calls with faults vs
fault-free, faults fired, identical yes / no.

Run: ``.venv/bin/python benchmarks/fault_matrix.py [--template T ...] [--psa autotask|connectwise]
[--repeat N] [--json]``

Each cell is what ``tests/e2e/test_fault_matrix.py`` asserts (``tests/e2e/fault_matrix_cases.py``): the
template's fault-free set-up, then the template once fault-free and once under 10 % 429 (Retry-After 1),
5 % 503, 2 % timeouts and 1 % answers lost after the write on every emulated system, rerun until it settles
(at most 6 runs), each into a freshly reset sandbox (its own process, small scale) with a state store of its
own; then every emulator table compared record by record, and one more fault-free run that must write nothing.

Columns: *runs* — runs until settled; *writes* — write calls the sandbox logged with faults / fault-free
(PSA writes; TD SYNNEX PO submissions); *hit* — write calls a fault hit (each may need one more call, so
writes ≤ *bound* = fault-free + hit + reruns × the writes the target refuses fault-free too: the seed's
Autotask service clash); *fired* — faults fired on every system, by kind (429 / 503 / timeout / answer
lost after the write) over *requests*; *identical* — the sandbox equals the fault-free run's; *after* — write
calls of the run after (0: quiet; the seed's Autotask service clash is refused every run, fault-free too).
The fault book is seeded, so which requests a fault hits varies only with thread timing from one run to the
next; ``--repeat N`` runs every cell N times, moving the seeded stream on each time so the faults hit other
requests. Exit status 1 when a cell is not identical, not settled, over the write bound or not
quiet after. Logs go to /dev/null; progress to stderr.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
SHIFT = 7  # --repeat: each repetition moves the fault book's random stream on by about this many draws more


@contextmanager
def quiet_stdout() -> Iterator[int]:
    """fd 1 to /dev/null (the engine's logs are printed to stdout); yields a descriptor of the real stdout."""
    sys.stdout.flush()
    real = os.dup(1)
    null = os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, 1)
    try:
        yield real
    finally:
        sys.stdout.flush()
        os.dup2(real, 1)
        os.close(null)
        os.close(real)


def table(rows: list[dict[str, Any]]) -> str:
    head = (f"{'template':<22}{'PSA':<13}{'runs':>5}{'writes':>9}{'fault-free':>11}{'hit':>5}{'bound':>7}  "
            f"{'fired 429/503/timeout/lost':<28}{'requests':>9}  {'identical':<10}{'after':>6}{'s':>7}")
    lines = [head, "-" * len(head)]
    for row in rows:
        fired = row["fired_by_kind"]
        kinds = "/".join(str(fired.get(k, 0)) for k in ("429", "503", "timeout", "write_then_drop"))
        fired_text = f"{row['fired']} = {kinds}"
        verdict = "yes" if row["identical"] else "NO"
        if not row["settled"]:
            verdict += " (unsettled)"
        if row["writes"] > row["write_bound"]:
            verdict += " (writes!)"
        lines.append(
            f"{row['template']:<22}{row['psa'].removeprefix('demo-'):<13}{row['runs']:>5}{row['writes']:>9}"
            f"{row['clean_writes']:>11}{row['write_faults']:>5}{row['write_bound']:>7}  {fired_text:<28}"
            f"{row['requests']:>9}  {verdict:<10}{row['writes_after']:>6}{row['seconds']:>7.1f}")
    return "\n".join(lines)


def main() -> int:
    from tests.e2e.fault_matrix_cases import INTEGRATIONS, TEMPLATES_IN_MATRIX

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--template", action="append", choices=TEMPLATES_IN_MATRIX,
                        help="only this template (repeatable); default: every landed template")
    parser.add_argument("--psa", choices=["autotask", "connectwise"], help="only this PSA; default: both")
    parser.add_argument("--repeat", type=int, default=1,
                        help="run every cell this many times, each time with the faults on other requests")
    parser.add_argument("--json", action="store_true", help="one JSON object per cell instead of the table")
    args = parser.parse_args()

    from benchmarks.sandbox_process import sandbox_process
    from tests.e2e.fault_matrix_cases import FAULT_MIX, MAX_RUNS, SCALE, measure

    templates = args.template or list(TEMPLATES_IN_MATRIX)
    integrations = [f"demo-{args.psa}"] if args.psa else list(INTEGRATIONS)
    print(f"load average {os.getloadavg()}; fault mix {dict(FAULT_MIX)} on every system; at most {MAX_RUNS} "
          f"runs; scale {SCALE}", file=sys.stderr)
    rows: list[dict[str, Any]] = []
    failed = False
    started = time.perf_counter()
    with sandbox_process(SCALE) as url, tempfile.TemporaryDirectory() as workdir:
        for repetition in range(args.repeat):
            for template in templates:
                for integration in integrations:
                    with quiet_stdout():
                        cell = measure(url, Path(workdir) / str(repetition), template, integration,
                                       shift=SHIFT * repetition)
                    row = cell.row()
                    rows.append(row)
                    failed |= not cell.passed()
                    print(f"{template} × {integration}: {row['runs']} run(s), {row['seconds']:.1f} s"
                          + ("" if cell.passed() else f" — FAILED: {cell.diff[:3]} {cell.runs[-1]['error']}"),
                          file=sys.stderr)
    if args.json:
        for row in rows:
            print(json.dumps(row))
    else:
        print(table(rows))
        print(f"\n{len(rows)} cell(s) in {time.perf_counter() - started:.0f} s; "
              f"{sum(r['identical'] for r in rows)} identical to the fault-free run")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
