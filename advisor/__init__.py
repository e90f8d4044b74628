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
    from advisor.core.answers import AnswersError
    from advisor.core.decision.robustness import analyse_robustness
    from advisor.core.decision.whatif import apply_changes, smallest_flips
    from advisor.core.engine import recommend
    from advisor.core.questionnaire import Requirements
    from advisor.core.recommendation import Recommendation
    from advisor.core.steps import next_steps
    from advisor.files.answer_files import load_answers
    from advisor.files.knowledge_files import load_knowledge
    from probes.records import Measurements, ProbeRecord

_EXPORTS = {
    "recommend": "advisor.core.engine",
    "load_answers": "advisor.files.answer_files",
    "AnswersError": "advisor.core.answers",
    "load_knowledge": "advisor.files.knowledge_files",
    "Requirements": "advisor.core.questionnaire",
    "Recommendation": "advisor.core.recommendation",
    "Measurements": "probes.records",
    "ProbeRecord": "probes.records",
    "analyse_robustness": "advisor.core.decision.robustness",
    "smallest_flips": "advisor.core.decision.whatif",
    "apply_changes": "advisor.core.decision.whatif",
    "next_steps": "advisor.core.steps",
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


def _shipped_knowledge() -> Any:
    from advisor.files.knowledge_files import default_knowledge

    return default_knowledge()


def _wire_defaults() -> None:
    """The pure core falls back to the shipped knowledge (and its framework registry) through
    this hook, so it never reads a file itself."""
    from advisor.core.in_force import set_default_knowledge

    set_default_knowledge(_shipped_knowledge)


_wire_defaults()


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'advisor' has no attribute {name!r}")
