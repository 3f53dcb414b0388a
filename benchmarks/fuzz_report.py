"""The fuzz corpus (R3) and what became of it, per source format: quarantined / refused / passed.

Run: .venv/bin/python benchmarks/fuzz_report.py   (prints figures; the invariants are asserted by the
harness, as in tests/fuzz: an unhandled exception or a malformed record passed through stops it)

Runs the hand-made corpus (tests/fuzz/corpus/) and the same derandomized Hypothesis cases as
tests/fuzz/test_fuzz_formats.py, so the figures are the same on every run. Counts are records
(flat-file rows, P&A lines, invoice lines, listed records, tokens) except ``refused``: whole inputs.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "include")]


def main() -> int:
    from tests.fuzz import harness
    from tests.fuzz.corpus_cases import CORPUS, run_case
    from tests.fuzz.test_fuzz_formats import FUZZERS

    started = time.perf_counter()
    for case in CORPUS:
        run_case(case)
    corpus_inputs, corpus_tally = dict(harness.INPUTS), dict(harness.TALLY)
    harness.INPUTS.clear()
    harness.TALLY.clear()
    for fuzz in FUZZERS.values():
        fuzz()
    elapsed = time.perf_counter() - started

    def table(title: str, inputs: dict[str, int], tally: dict[tuple[str, str], int]) -> tuple[int, ...]:
        print(f"\n{title}")
        print(f"{'format':<26}{'inputs':>8}{'quarantined':>13}{'refused':>9}{'passed':>8}")
        totals = [0, 0, 0, 0]
        for fmt in sorted(inputs):
            row = [inputs[fmt], *(tally.get((fmt, o), 0) for o in ("quarantined", "refused", "passed"))]
            totals = [t + r for t, r in zip(totals, row, strict=True)]
            print(f"{fmt:<26}{row[0]:>8}{row[1]:>13}{row[2]:>9}{row[3]:>8}")
        print(f"{'total':<26}{totals[0]:>8}{totals[1]:>13}{totals[2]:>9}{totals[3]:>8}")
        return tuple(totals)

    corpus = table(f"hand-made corpus: {len(CORPUS)} files (tests/fuzz/corpus/)", corpus_inputs, corpus_tally)
    fuzzed = table("Hypothesis (derandomized)", dict(harness.INPUTS), dict(harness.TALLY))
    print(f"\ncorpus size: {corpus[0] + fuzzed[0]} inputs; outcomes: {corpus[1] + fuzzed[1]} quarantined, "
          f"{corpus[2] + fuzzed[2]} refused, {corpus[3] + fuzzed[3]} passed; 0 unhandled exceptions, "
          f"0 malformed records passed ({elapsed:.1f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
