"""What would change the pick? Apply edits to the answers, and search for the smallest ones.

`apply_changes` takes `path=value` edits (the CLI's `--set`), checked against the questionnaire
model. `smallest_flips` searches the questionnaire itself: for each runner-up, every priority moved
step by step, and every single-answer edit the schema allows (each enum value, each list item
added or removed, each flag flipped), re-running the engine on each; only edits under which that
framework really wins are reported. It also gives the crossover points (`crossover`: the priority
at which the pick changes, per criterion, each re-checked with the engine, and the scores whose
value would change it, with the evidence that would move them). Nothing is hand-written per framework, so a new field or
framework is searched without code changes. Constraints (exclusions) are left out of the search:
"exclude the winner" is never advice.
"""

from __future__ import annotations

import enum
import weakref
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, get_args, get_origin

from pydantic import BaseModel, ConfigDict, Field

from advisor.core.answers import AnswersError, merge, validate_answers
from advisor.core.decision.crossover import CrossoverReport, crossovers
from advisor.core.decision.matrix import decision_matrix
from advisor.core.decision.uncertainty import score_uncertainty
from advisor.core.engine import recommend
from advisor.core.in_force import knowledge_in_force
from advisor.core.knowledge import Knowledge
from advisor.core.questionnaire import Requirements
from advisor.core.recommendation import Recommendation
from advisor.core.registry import CodebaseName, FrameworkName, Registry
from probes.records import Measurements

SKIPPED_SECTIONS = ("constraints",)
MAX_ANSWER_FLIPS = 3
MAX_PRIORITY_FLIPS = 3


class WhatIfError(ValueError):
    """A bad `path=value` edit; the message is one line naming the path and what is allowed."""


@dataclass(frozen=True)
class Leaf:
    """One answer in the questionnaire: its dotted path and what values it takes."""

    path: str
    kind: str
    """bool | int | enum | enum_list"""
    choices: tuple[str, ...] = ()
    default: Any = None
    """what an answer left out means (a framework missing from team.experience)"""


def _choices(annotation: Any, registry: Registry) -> tuple[str, ...] | None:
    """The values a single-choice annotation allows (framework names from the registry)."""
    if annotation is FrameworkName:
        return registry.ids
    if annotation is CodebaseName:
        return registry.codebases
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return tuple(str(m.value) for m in annotation)
    return None


def _leaves(model: type[BaseModel], registry: Registry, prefix: str = "") -> Iterator[Leaf]:
    for name, info in model.model_fields.items():
        annotation = info.annotation
        path = f"{prefix}{name}"
        choices = _choices(annotation, registry)
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            yield from _leaves(annotation, registry, path + ".")
        elif choices is not None:
            yield Leaf(path, "enum", choices)
        elif get_origin(annotation) is dict:
            key, value = get_args(annotation)
            values = _choices(value, registry) or ()
            if key is FrameworkName:
                for framework in registry:
                    yield Leaf(f"{path}.{framework}", "enum", values, values[0] if values else None)
        elif annotation is bool:
            yield Leaf(path, "bool")
        elif annotation is int:
            yield Leaf(path, "int")
        elif get_origin(annotation) is list:
            (item,) = get_args(annotation)
            item_choices = _choices(item, registry)
            if item_choices is not None:
                yield Leaf(path, "enum_list", item_choices)


_LEAVES: weakref.WeakKeyDictionary[Registry, dict[str, Leaf]] = weakref.WeakKeyDictionary()


def leaves(registry: Registry) -> dict[str, Leaf]:
    """Every answer of the questionnaire with the values it takes under this registry."""
    found = _LEAVES.get(registry)
    if found is None:
        found = _LEAVES[registry] = {leaf.path: leaf for leaf in _leaves(Requirements, registry)}
    return found


def answer_at(data: dict[str, Any], path: str, default: Any = None) -> Any:
    """The value at a dotted path of answers dumped to a dict (`model_dump(mode="json")`);
    `default` where a table leaves the last part out."""
    node: Any = data
    parts = path.split(".")
    for depth, part in enumerate(parts):
        if depth == len(parts) - 1 and isinstance(node, dict) and part not in node:
            return default
        node = node[part]
    return node


def _parse_value(leaf: Leaf, raw: str) -> Any:
    text = raw.strip()
    if leaf.kind == "bool":
        if text.lower() not in ("true", "false"):
            raise WhatIfError(f"--set {leaf.path}={raw}: use true or false")
        return text.lower() == "true"
    if leaf.kind == "int":
        try:
            return int(text)
        except ValueError:
            raise WhatIfError(f"--set {leaf.path}={raw}: use a whole number (0-5)") from None
    if leaf.kind == "enum_list":
        return [v.strip() for v in text.split(",") if v.strip()]
    return text


def apply_changes(
    requirements: Requirements, changes: Sequence[str], *, knowledge: Knowledge | None = None
) -> Requirements:
    """The answers with `path=value` edits applied (lists as a,b,c), validated like a file."""
    registry = knowledge_in_force(knowledge).registry
    known_leaves = leaves(registry)
    data = requirements.model_dump(mode="json")
    edits: dict[str, Any] = {}
    for change in changes:
        path, sep, raw = change.partition("=")
        path = path.strip()
        if not sep:
            raise WhatIfError(f"--set {change!r}: write PATH=VALUE, e.g. priorities.deployment=5")
        leaf = known_leaves.get(path)
        if leaf is None:
            known = ", ".join(sorted(p for p in known_leaves if p != "schema_version"))
            raise WhatIfError(f"--set {path}: unknown answer; one of {known}")
        edits[path] = _parse_value(leaf, raw)
    try:
        return validate_answers(merge(data, edits), "--set", registry)
    except AnswersError as error:
        raise WhatIfError(str(error)) from None


class Flip(BaseModel):
    """One verified edit under which a runner-up becomes the top pick."""

    model_config = ConfigDict(frozen=True)

    framework: str = Field(description="the runner-up that would win")
    name: str = Field(description="its display name")
    kind: str = Field(description="priority | answer")
    change: str = Field(description="the edit as `--set` takes it")
    description: str = Field(description="the edit in words")
    lead: float = Field(description="points the framework would be ahead by")


class RunnerUp(BaseModel):
    model_config = ConfigDict(frozen=True)

    framework: str = Field(description="a framework ranked below the pick")
    name: str = Field(description="its display name")
    behind: float = Field(description="points behind the pick as answered")
    flips: list[Flip] = Field(description="the smallest verified edits under which it wins")

    def sentence(self) -> str:
        if not self.flips:
            return f"{self.name} would not win with any single change of priority or answer."
        return (
            f"{self.name} would win if " + ", or if ".join(f.description for f in self.flips) + "."
        )


class WhatIfReport(BaseModel):
    model_config = ConfigDict(frozen=True)

    top_pick: str | None = Field(description="the engine's pick for the answers as given")
    runners_up: list[RunnerUp] = Field(description="every other eligible framework, in rank order")
    evaluated: int = Field(description="how many edited questionnaires were scored")
    crossovers: CrossoverReport | None = Field(
        None,
        description="crossover points: per criterion the priority at which the pick changes "
        "(verified: re-checked with the engine), and the scores that would change it",
    )

    def text_lines(self) -> list[str]:
        lines = ["What would change the pick (each change checked by re-running the engine):"]
        if not self.runners_up:
            return [*lines, "  nothing: fewer than two frameworks are eligible."]
        for runner in self.runners_up:
            lines.append(f"  {runner.sentence()}")
            lines.extend(
                f"    --set {f.change}   ({f.name} ahead by {_points(f.lead)})"
                for f in runner.flips
            )
        crossing = self.crossovers.text_lines("    ") if self.crossovers else []
        if crossing:
            lines += ["  Crossover points (holding your other answers):", *crossing]
        return lines

    def markdown_lines(self) -> list[str]:
        if not self.runners_up:
            return ["Nothing: fewer than two frameworks are eligible."]
        lines = []
        for runner in self.runners_up:
            lines.append(f"- {runner.sentence()}")
            lines.extend(
                f"  - `--set {f.change}` ({f.name} ahead by {_points(f.lead)} points)"
                for f in runner.flips
            )
        lines += ["", "*Each change was applied and the engine re-run to confirm the new winner.*"]
        crossing = self.crossovers.markdown_lines() if self.crossovers else []
        if crossing:
            lines += ["", "Crossover points (holding your other answers):", "", *crossing]
        return lines


def wins(rec: Recommendation, framework: str) -> bool:
    """`framework` is first and strictly ahead: a tie settled by listing order is no win."""
    return rec.top_pick == framework and (rec.margin is None or rec.margin > 0)


def _lead(rec: Recommendation, framework: str) -> float | None:
    """How far `framework` is ahead when it wins outright, else None."""
    if not wins(rec, framework):
        return None
    return rec.margin if rec.margin is not None else 100.0


def _points(lead: float) -> str:
    return f"{lead:.1f}" if lead >= 0.1 else f"{lead:.2f}"


def _label(path: str) -> str:
    """Plain words for an answer's path, derived from the schema's names (no per-field text):
    `deployment.targets` -> "deployment targets", `team.existing_codebase` -> "existing codebase",
    `team.experience.pytorch` -> "pytorch experience"."""
    parts = path.split(".")
    if len(parts) > 2:
        return f"{parts[-1]} {parts[-2]}".replace("_", " ")
    section, name = parts
    return name.replace("_", " ") if "_" in name else f"{section} {name}"


def _answer_edits(
    requirements: Requirements, known_leaves: dict[str, Leaf]
) -> Iterator[tuple[str, str, str]]:
    """(set-expression, description, path) for every single-answer edit the schema allows."""
    data = requirements.model_dump(mode="json")
    for leaf in known_leaves.values():
        if leaf.path.split(".")[0] in (*SKIPPED_SECTIONS, "priorities") or leaf.kind == "int":
            continue
        current = answer_at(data, leaf.path, leaf.default)
        label = _label(leaf.path)
        if leaf.kind == "bool":
            flipped = str(not current).lower()
            yield f"{leaf.path}={flipped}", f"{label} were {flipped}", leaf.path
        elif leaf.kind == "enum":
            for choice in leaf.choices:
                if choice != current:
                    yield f"{leaf.path}={choice}", f"{label} were {choice}", leaf.path
        else:
            for choice in leaf.choices:
                if choice in current:
                    rest = [v for v in current if v != choice]
                    if rest:
                        yield (f"{leaf.path}={','.join(rest)}",
                               f"you dropped {choice} from the {label}", leaf.path)  # fmt: skip
                elif choice == "none":
                    yield f"{leaf.path}=none", f"the {label} were none", leaf.path
                else:
                    added = [v for v in current if v != "none"] + [choice]
                    yield (f"{leaf.path}={','.join(added)}",
                           f"you added {choice} to the {label}", leaf.path)  # fmt: skip


def _varied(flips: Sequence[tuple[str, Flip]], known_leaves: dict[str, Leaf]) -> list[Flip]:
    """Best first, one per single-valued answer: "codebase were pytorch" says what "codebase were
    none" would add; each item of a list answer is a different suggestion and stays."""
    seen: set[str] = set()
    out = []
    for path, flip in flips:
        if path in seen:
            continue
        if known_leaves[path].kind != "enum_list":
            seen.add(path)
        out.append(flip)
    return out


def smallest_flips(
    requirements: Requirements,
    *,
    knowledge: Knowledge | None = None,
    measurements: Measurements | None = None,
    as_of: date | None = None,
) -> WhatIfReport:
    """For each runner-up, the smallest verified edits that make it the top pick, and the
    crossover points (`as_of`: the date claim ages are measured at, see `uncertainty`)."""
    kb = knowledge_in_force(knowledge)
    known_leaves = leaves(kb.registry)
    base = recommend(requirements, measurements, knowledge=kb)
    evaluated = 0
    if len(base.ranking) < 2:
        return WhatIfReport(top_pick=base.top_pick, runners_up=[], evaluated=0)

    cache: dict[str, Recommendation] = {}

    def run(change: str) -> Recommendation | None:
        nonlocal evaluated
        if change not in cache:
            try:
                edited = apply_changes(requirements, [change], knowledge=kb)
            except WhatIfError:
                return None
            evaluated += 1
            cache[change] = recommend(edited, measurements, knowledge=kb)
        return cache[change]

    runners = []
    top_score = base.ranking[0].score
    for ranked in base.ranking[1:]:
        fw = ranked.framework
        priority_flips: list[tuple[int, Flip]] = []
        for name in type(requirements.priorities).model_fields:
            current = getattr(requirements.priorities, name)
            steps = sorted((v for v in range(6) if v != current), key=lambda v: abs(v - current))
            for value in steps:
                change = f"priorities.{name}={value}"
                result = run(change)
                lead = _lead(result, fw) if result else None
                if lead is not None:
                    words = name.replace("_", " ")
                    priority_flips.append((abs(value - current), Flip(
                        framework=fw, name=ranked.name, kind="priority", change=change,
                        description=f"{words} mattered {value} instead of {current}", lead=lead,
                    )))  # fmt: skip
                    break
        answer_flips: list[tuple[str, Flip]] = []
        for change, description, path in _answer_edits(requirements, known_leaves):
            result = run(change)
            lead = _lead(result, fw) if result else None
            if lead is not None:
                answer_flips.append((path, Flip(
                    framework=fw, name=ranked.name, kind="answer", change=change,
                    description=description, lead=lead,
                )))  # fmt: skip
        priority_flips.sort(key=lambda pair: (pair[0], -pair[1].lead))
        answer_flips.sort(key=lambda pair: -pair[1].lead)
        flips = [f for _, f in priority_flips[:MAX_PRIORITY_FLIPS]]
        flips += _varied(answer_flips, known_leaves)[:MAX_ANSWER_FLIPS]
        runners.append(
            RunnerUp(framework=fw, name=ranked.name, behind=top_score - ranked.score, flips=flips)
        )
    crossing = crossovers(
        decision_matrix(base, kb),
        score_uncertainty(base, knowledge=kb, as_of=as_of),
        requirements,
        kb,
    )
    checked = []
    for point in crossing.priorities:
        result = run(f"priorities.{point.criterion.value}={point.whole}")
        checked.append(
            point.model_copy(update={"verified": bool(result and wins(result, point.winner))})
        )
    return WhatIfReport(
        top_pick=base.top_pick,
        runners_up=runners,
        evaluated=evaluated,
        crossovers=crossing.model_copy(update={"priorities": checked}),
    )
