"""advisor: which deep-learning framework fits a project, with cited evidence.

The Python API: `recommend(requirements, measurements=None)` returns a `Recommendation`;
`load_answers(path)` reads a questionnaire file; `Requirements` is the questionnaire model.
How sure and what next: `analyse_robustness(recommendation)`, `smallest_flips(requirements)`,
`apply_changes(requirements, ["priorities.deployment=5"])`, `next_steps(recommendation)`.
Names resolve lazily so that importing one submodule does not load the engine.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from advisor.answers import AnswersError, load_answers
    from advisor.engine import recommend
    from advisor.knowledge_files import load_knowledge
    from advisor.measurements import Measurements, ProbeRecord
    from advisor.questionnaire import Requirements
    from advisor.recommendation import Recommendation
    from advisor.robustness import analyse_robustness
    from advisor.steps import next_steps
    from advisor.whatif import apply_changes, smallest_flips

_EXPORTS = {
    "recommend": "advisor.engine",
    "load_answers": "advisor.answers",
    "AnswersError": "advisor.answers",
    "load_knowledge": "advisor.knowledge_files",
    "Requirements": "advisor.questionnaire",
    "Recommendation": "advisor.recommendation",
    "Measurements": "advisor.measurements",
    "ProbeRecord": "advisor.measurements",
    "analyse_robustness": "advisor.robustness",
    "smallest_flips": "advisor.whatif",
    "apply_changes": "advisor.whatif",
    "next_steps": "advisor.steps",
}

__all__ = [
    "AnswersError",
    "Measurements",
    "ProbeRecord",
    "Recommendation",
    "Requirements",
    "analyse_robustness",
    "apply_changes",
    "load_answers",
    "load_knowledge",
    "next_steps",
    "recommend",
    "smallest_flips",
]


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'advisor' has no attribute {name!r}")
