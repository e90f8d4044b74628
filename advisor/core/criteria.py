"""The criteria every framework is scored on.

task_fit is always weighted (how well a framework serves the declared tasks); every other criterion
is weighted by the questionnaire's priority of the same name, so the two lists cannot drift apart.
"""

from __future__ import annotations

from advisor.core.questionnaire import Choice, Priorities


class Criterion(Choice):
    TASK_FIT = "task_fit"
    DEVELOPMENT_SPEED = "development_speed"
    RUNTIME_PERFORMANCE = "runtime_performance"
    MEMORY_EFFICIENCY = "memory_efficiency"
    DISTRIBUTED_TRAINING = "distributed_training"
    DEPLOYMENT = "deployment"
    ECOSYSTEM = "ecosystem"
    HARDWARE_SUPPORT = "hardware_support"
    LANGUAGE_SUPPORT = "language_support"
    LONG_TERM_SUPPORT = "long_term_support"
    TEAM_FIT = "team_fit"


CRITERIA: tuple[Criterion, ...] = tuple(Criterion)

LABELS: dict[Criterion, str] = {
    Criterion.TASK_FIT: "Task fit",
    Criterion.DEVELOPMENT_SPEED: "Development speed",
    Criterion.RUNTIME_PERFORMANCE: "Runtime performance",
    Criterion.MEMORY_EFFICIENCY: "Memory efficiency",
    Criterion.DISTRIBUTED_TRAINING: "Distributed training",
    Criterion.DEPLOYMENT: "Deployment",
    Criterion.ECOSYSTEM: "Ecosystem",
    Criterion.HARDWARE_SUPPORT: "Hardware support",
    Criterion.LANGUAGE_SUPPORT: "Language support",
    Criterion.LONG_TERM_SUPPORT: "Long-term support",
    Criterion.TEAM_FIT: "Team fit",
}

if {c.value for c in CRITERIA} - {Criterion.TASK_FIT.value} != set(Priorities.model_fields):
    raise RuntimeError("criteria and questionnaire priorities disagree")  # pragma: no cover
