"""What if ``tune`` kept the ensemble only where its CV gain over the best single trial is not tiny? (issue #11)

A what-if on ``bench_ensemble.py``'s caches, exact without refitting anything: where a threshold would
reject the ensemble, ``tune`` returns the study's best single trial, whose test score the cache holds.
The gain is relative (``|ensemble CV - best single CV| / |best single CV|``) so that one threshold reads
across metrics (AUC, log loss, RMSE).  Prints, per searcher and threshold, the ensemble-or-fallback against
the best single trial (wins / ties / losses, ties within 1e-4) and the mean test score at 10, 25 and 50
trials.

    python benchmarks/report_ensemble_guard.py benchmarks/results/ens_auto_b5dc022.jsonl \
        benchmarks/results/ens_lgbm_b5dc022.jsonl
"""

from __future__ import annotations

import json
import sys

THRESHOLDS = (0.0, 0.0005, 0.001, 0.002, 0.005)


def main(argv: list[str] | None = None) -> int:
    files = sys.argv[1:] if argv is None else argv
    rows = [json.loads(line) for f in files for line in open(f)]
    for searcher in ("lgbm", "auto"):
        runs = [r for r in rows if r.get("searcher") == searcher and r.get("checkpoints")]
        if not runs:
            continue
        print(f"{searcher}: {len(runs)} tables")
        for t in THRESHOLDS:
            parts = []
            for n in ("10", "25", "50"):
                diffs, total = [], 0.0
                for r in runs:
                    single, ens = r["checkpoints"][n]["single"], r["checkpoints"][n]["ensemble"]
                    score = ens["score"]
                    cv, best = ens.get("cv"), ens.get("best_single_cv")
                    if cv is not None and best and abs(cv - best) / abs(best) <= t:
                        score = single["score"]
                    diffs.append(score - single["score"])
                    total += score
                w = sum(d >= 1e-4 for d in diffs)
                ties = sum(abs(d) < 1e-4 for d in diffs)
                parts.append(f"{n}: {w}/{ties}/{len(diffs) - w - ties} mean {total / len(runs):.4f}")
            print(f"  gain > {t:<6g} " + "; ".join(parts))
    return 0


if __name__ == "__main__":
    sys.exit(main())
