"""The task kinds every stage speaks of: one definition for data, learners and the KB."""

from __future__ import annotations

from typing import Literal

TaskKind = Literal["binary", "multiclass", "regression"]
TASK_KINDS: tuple[str, ...] = ("binary", "multiclass", "regression")
