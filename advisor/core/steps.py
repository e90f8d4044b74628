"""Next steps, what to do after the pick: the knowledge base's next steps whose conditions fit the answers.

Steps are data (`knowledge/next_steps/*.toml`), each resting on claims; this module only selects
them for the top pick (or a framework asked for) and resolves their sources. Pure: no I/O beyond
the cached knowledge load.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from advisor.core.engine import claim_evidence
from advisor.core.in_force import knowledge_in_force
from advisor.core.knowledge import Knowledge
from advisor.core.recommendation import ClaimEvidence, Recommendation


class Step(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str
    title: str
    detail: str
    command: str | None = None
    sources: list[ClaimEvidence]
    measured: list[str] = []
    """what the deployment probes found on this machine for the paths this step rests on (a
    path and a step citing the same claim)"""


class NextStepsReport(BaseModel):
    model_config = ConfigDict(frozen=True)

    framework: str | None
    name: str | None
    steps: list[Step]
    doc_domains: list[str] = []
    """words in the framework's documentation addresses, to pick the source to show"""

    def _source_line(self, step: Step) -> str:
        cited = []
        for claim in step.sources:
            url = _url_for(claim, tuple(self.doc_domains))
            if claim.source is None:
                cited.append(url or claim.id)
            elif claim.verdict.value == "holds":
                cited.append(claim.source.label)
            else:
                fix = f", corrected by {url}" if url else ""
                cited.append(f"{claim.source.label} ({claim.verdict.value}{fix})")
        return "; ".join(dict.fromkeys(cited))

    def text_lines(self) -> list[str]:
        if self.framework is None:
            return ["Next steps: none (every framework is excluded)."]
        lines = [f"Next steps with {self.name}:"]
        for number, step in enumerate(self.steps, start=1):
            lines.append(f" {number}. {step.title}")
            lines.append(f"    {step.detail}")
            if step.command:
                lines.append(f"    $ {step.command}")
            lines.extend(f"    measured here: {line}" for line in step.measured)
            lines.append(f"    source: {self._source_line(step)}")
        return lines

    def markdown_lines(self) -> list[str]:
        if self.framework is None:
            return ["No next steps: every framework is excluded."]
        lines = [f"With **{self.name}**:", ""]
        for number, step in enumerate(self.steps, start=1):
            lines.append(f"{number}. **{step.title}**. {step.detail}")
            if step.command:
                lines.append(f"   `{step.command}`")
            lines.extend(f"   Measured here: {line}" for line in step.measured)
            lines.append(f"   *Source: {self._source_line(step)}*")
        return lines


def _url_for(claim: ClaimEvidence, hints: tuple[str, ...]) -> str | None:
    """The claim's reference to show: one about the step's framework (its documentation's
    address words, from the registry) where the claim cites several, else its first."""
    urls = [r.url for r in claim.references if r.url]
    return next((u for u in urls if any(h in u for h in hints)), urls[0] if urls else None)


def next_steps(
    recommendation: Recommendation,
    *,
    framework: str | None = None,
    knowledge: Knowledge | None = None,
) -> NextStepsReport:
    """The steps for `framework` (default: the top pick) that fit the recommendation's answers."""
    kb = knowledge_in_force(knowledge)
    chosen = framework or recommendation.top_pick
    if chosen is None:
        return NextStepsReport(framework=None, name=None, steps=[])
    requirements = recommendation.requirements
    entry = next((e for e in recommendation.ranking if e.framework == chosen), None)
    backend = entry.backend if entry is not None else None

    def fill(text: str) -> str:
        """A front-end's steps name the backend it is recommended on: {backend} is the
        backend's package (also its KERAS_BACKEND value), {backend_name} its display name."""
        if backend is None:
            return text
        named = kb.frameworks[backend]
        return text.replace("{backend}", named.pypi).replace("{backend_name}", named.name)

    steps = [
        Step(
            id=compiled.step.id,
            title=fill(compiled.step.title),
            detail=fill(compiled.step.detail),
            command=fill(compiled.step.command) if compiled.step.command else None,
            sources=[claim_evidence(kb.claims[c], kb) for c in compiled.step.claims],
            measured=[
                path.summary
                for path in (entry.deployment if entry is not None else [])
                if set(path.claims) & set(compiled.step.claims)
            ],
        )
        for compiled in kb.next_steps
        if compiled.step.framework == chosen and compiled.applies(requirements)
    ]
    profile = kb.frameworks[chosen]
    return NextStepsReport(
        framework=chosen,
        name=entry.name if entry is not None else profile.name,
        steps=steps,
        doc_domains=profile.doc_domains,
    )
