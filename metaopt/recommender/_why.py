"""The words of a ranking: the short reason and the full rationale shown for each rank."""

from __future__ import annotations

import dataclasses
import re
from typing import Any


class Why:
    """The reason (a few words) and rationale (sentences) of each rank."""

    def __init__(self, blind_reason: str | None, far: bool, model: Any, query: Any, similar: list, note: str):
        self.blind_reason, self.far, self.note = blind_reason, far, note
        if far and blind_reason is None:
            self.far_text = (f"New task is far from the knowledge base (nearest-task distance "
                             f"{model.nearest_distance(query):.2f} > {model.far_threshold_:.2f}, the 95% quantile "
                             f"of KB tasks' own nearest distances x1.25): falling back to the static portfolio")
        self.sim_text = ", ".join(f"{s['name']} ({s['distance']:.2f})" for s in similar) or "none"
        self.novel_text = ""
        if not far and blind_reason is None:
            share = model.even_shares(query)[0]
            if share > model.prior:
                self.novel_text = (f" The task lies further from the knowledge base than {share:.0%} of its tasks "
                                   f"from their nearest: {share:.0%} of the weight goes evenly to all KB tasks.")

    def reason(self, i: int, fastest: bool, portfolio: bool = False) -> str:
        if fastest:
            return "fastest (none fits the time budget)"
        if portfolio:
            return f"KB portfolio #{i + 1}"
        if self.blind_reason is not None:
            return f"data-blind portfolio #{i + 1}"
        if self.far:
            return f"static portfolio #{i + 1} (far from KB)"
        if i == 0:
            return "best blend on similar tasks"
        return "covers where #1 is weak" if i == 1 else f"covers where #1-#{i} are weak"

    def rationale(self, i: int, adapted: dict, n_rows: int, portfolio: bool = False) -> str:
        if portfolio:
            text = (f"Position {i + 1} of the knowledge base's static portfolio (the configurations that together do "
                    "best across its tasks), the set probes choose among.")
        elif self.blind_reason is not None:
            text = (f"No usable meta-features ({self.blind_reason}): the data-blind static portfolio of the "
                    f"knowledge base. Position {i + 1} of that portfolio.")
        elif self.far:
            text = f"{self.far_text}. Position {i + 1} of that portfolio."
        elif i == 0:
            text = (f"Best expected normalised score on the most similar KB tasks ({self.sim_text}) "
                    f"blended with the surrogate's prediction.{self.novel_text}")
        else:
            text = "Chosen greedily to do well where the configurations above it are weak on similar tasks."
        if adapted:
            changes = ", ".join(f"{name} {'default' if old is None else repr(old)} -> {new!r}"
                                for name, (old, new) in adapted.items())
            text += f" Set for this dataset ({n_rows} rows): {changes}."
        return text + self.note


#: a reason that names positions of the ranking ("covers where #1-#2 are weak", :meth:`Why.reason`)
_COVERS = re.compile(r"covers where #(\d+)(?:-#(\d+))? (?:is|are) weak")


def renumber_reasons(final: list, ranking: list) -> list:
    """``final`` with each reason's positions of ``ranking`` (the meta-model's order) renamed to where those
    configurations stand in ``final``: own trials put first, or probes reordering, move them."""
    at = {config_key(r): r.rank for r in final}
    moved = {r.rank: at.get(config_key(r)) for r in ranking}
    if all(old == new for old, new in moved.items() if new is not None):
        return final

    def words(match: re.Match) -> str:
        first = int(match[1])
        ranks = sorted({moved[j] for j in range(first, int(match[2] or first) + 1) if moved.get(j) is not None})
        return f"covers where {_positions(ranks)} {'is' if len(ranks) == 1 else 'are'} weak" if ranks else match[0]

    return [dataclasses.replace(r, reason=_COVERS.sub(words, r.reason)) for r in final]


def config_key(r: Any) -> tuple[str, str]:
    """What makes two recommendations the same configuration: learner and parameters."""
    return r.learner, repr(sorted(r.params.items()))


def _positions(ranks: list[int]) -> str:
    """``[1, 2, 3, 5]`` as ``#1-#3, #5``."""
    runs: list[list[int]] = []
    for p in ranks:
        if runs and p == runs[-1][-1] + 1:
            runs[-1].append(p)
        else:
            runs.append([p])
    return ", ".join(f"#{r[0]}" if len(r) == 1 else f"#{r[0]}-#{r[-1]}" for r in runs)
