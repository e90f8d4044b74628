"""The knowledge base as validated data: references, claims, framework profiles and rules.

Nothing here reads files (see `knowledge_files`); `build_knowledge` takes the parsed TOML tables,
checks every cross-reference (a rule citing a missing claim, a claim citing a missing reference,
a condition naming a field the questionnaire lacks) and returns an indexed, immutable `Knowledge`
with each rule's condition compiled to a predicate. Errors name the file and the item's id.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from enum import Enum
from typing import Annotated, Any, Literal, NamedTuple

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    model_validator,
)

from advisor.core.calibration_policy import CalibrationPolicy
from advisor.core.conditions import (
    Condition,
    ConditionError,
    Predicate,
    compile_condition,
    substitute,
)
from advisor.core.criteria import CRITERIA, Criterion
from advisor.core.deployment_paths import DeploymentCatalogue, check_catalogue
from advisor.core.questionnaire import Choice
from advisor.core.registry import NO_CODEBASE, Entry, Registry

ID_PATTERN = r"^[a-z0-9][a-z0-9._:-]*$"
FRAMEWORK_PLACEHOLDER = "{framework}"


class KnowledgeError(ValueError):
    """Invalid knowledge; the message starts with the file and names the item."""


class _Data(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)


class Verdict(Choice):
    HOLDS = "holds"
    OUTDATED = "outdated"
    WRONG = "wrong"


class ClaimKind(Choice):
    CONCEPT = "concept"
    PRO = "pro"
    CON = "con"
    APPLICATION = "application"
    FAQ = "faq"
    FACT = "fact"


class ReferenceKind(Choice):
    WEB = "web"
    PAPER = "paper"
    RELEASE_NOTES = "release_notes"
    REPOSITORY = "repository"
    MEASUREMENT = "measurement"


class Lifecycle(Choice):
    ACTIVE = "active"
    MAINTENANCE = "maintenance"
    RETIRED = "retired"


class Seed(_Data):
    """One of the source articles the seed claims come from."""

    id: str = Field(pattern=r"^\d{3}$")
    file: str
    title: str
    language: str = "zh"
    sha256: str | None = Field(None, pattern=r"^[0-9a-f]{64}$")
    """digest of the article text the items were counted in"""
    items: dict[str, int] = Field(default_factory=dict)
    """numbered items per section of the parts every claim set must cover (sections 2, 3.3, 3.4,
    6 and 9), so coverage is checked even where the article itself is not at hand"""


class Reference(_Data):
    """An official page, release note, repository thread or measurement that a claim rests on."""

    id: str = Field(pattern=ID_PATTERN)
    title: str = Field(min_length=3)
    kind: ReferenceKind = ReferenceKind.WEB
    url: str | None = Field(None, pattern=r"^https?://")
    published: str | None = Field(None, pattern=r"^\d{4}(-\d{2}(-\d{2})?)?$")
    note: str | None = None

    @model_validator(mode="after")
    def _locatable(self) -> Reference:
        if self.url is None and self.kind is not ReferenceKind.MEASUREMENT:
            raise ValueError("only a measurement reference may lack a url")
        return self


class SeedSource(_Data):
    """Where in a seed article a claim is made: seed id, numbered section, item within it."""

    seed: str = Field(pattern=r"^\d{3}$")
    section: str = Field(pattern=r"^\d+(\.\d+)*$")
    item: int = Field(ge=1)

    def label(self) -> str:
        return f"seed {self.seed} §{self.section} item {self.item}"


DATE_PATTERN = r"^\d{4}-\d{2}-\d{2}$"
MONTH_OR_DATE_PATTERN = r"^\d{4}-\d{2}(-\d{2})?$"
VERSION_IN_TEXT = re.compile(r"(?<![\w.])\d+\.\d+\.\d+(?:\.\d+)?(?![\w.])")
"""a three- or four-part version number written in a claim ("2.21.0", "0.12.0.1"); a two-part
one ("TF 2.16") usually names a line, not a release, and is not held to this"""


def _iso(value: Any) -> Any:
    """TOML dates arrive as `date` objects; the knowledge keeps ISO text (the compiled cache
    stores plain JSON)."""
    return value.isoformat() if isinstance(value, date) else value


IsoDate = Annotated[str, BeforeValidator(_iso), Field(pattern=DATE_PATTERN)]
IsoMonthOrDate = Annotated[str, BeforeValidator(_iso), Field(pattern=MONTH_OR_DATE_PATTERN)]


class VersionFact(_Data):
    """A release a claim names: which package, which version, when it came out."""

    package: str = Field(pattern=r"^[A-Za-z0-9._-]+$", description="its name on PyPI")
    version: str = Field(pattern=r"^\d+(\.\d+)*([a-z]+\d*)?$")
    released: IsoMonthOrDate
    latest: bool = False
    """the claim says this is the newest release (`advisor claims --check-versions` compares it
    with the package index)"""


class Claim(_Data):
    """A statement about frameworks with a verdict as of today.

    Seed claims keep what the article said (in English) and, when it no longer holds, carry the
    correction and the references that establish it. Fact claims come from references alone.
    Every claim says when its source was last read (`checked`); one that names a release says
    which (`versions`), as such facts age in months; `shelf` is how long it stays fresh (a kind of
    knowledge/uncertainty.toml or a number of days; default `version` for a claim naming a
    release, `concept` for a concept, else the policy's default).
    """

    id: str = Field(pattern=ID_PATTERN)
    kind: ClaimKind
    frameworks: list[str] = Field(default_factory=list)
    text: str = Field(min_length=10)
    source: SeedSource | None = None
    verdict: Verdict = Verdict.HOLDS
    correction: str | None = None
    references: list[str] = Field(default_factory=list)
    corrected_by: list[str] = Field(default_factory=list)
    checked: IsoDate
    versions: list[VersionFact] = Field(default_factory=list)
    shelf: str | int | None = None

    @model_validator(mode="before")
    @classmethod
    def _default_shelf(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("shelf") is None:
            if data.get("versions"):
                return {**data, "shelf": "version"}
            if data.get("kind") == ClaimKind.CONCEPT.value:
                return {**data, "shelf": "concept"}
        return data

    @model_validator(mode="after")
    def _versions_named(self) -> Claim:
        """A release named in today's words (a fact's text, a seed claim's correction) is
        recorded with its release date; a recorded one is named there."""
        current = " ".join(
            t for t in (self.text if self.source is None else None, self.correction) if t
        )
        named = set(VERSION_IN_TEXT.findall(current))
        recorded = {v.version for v in self.versions}
        unrecorded = sorted(named - recorded)
        if unrecorded:
            raise ValueError(
                f"names version(s) {', '.join(unrecorded)} without recording them: add "
                "versions = [{ package = ..., version = ..., released = YYYY-MM-DD }]"
            )
        unnamed = sorted(recorded - named - set(VERSION_IN_TEXT.findall(self.text)))
        if unnamed:
            raise ValueError(f"records version(s) {', '.join(unnamed)} that its text never names")
        return self

    @model_validator(mode="after")
    def _sourced(self) -> Claim:
        if self.source is None and not self.references:
            raise ValueError("a claim needs a seed source or at least one reference")
        if self.kind is ClaimKind.FACT and self.source is not None:
            raise ValueError("a fact claim is sourced by references, not by a seed")
        if self.verdict is not Verdict.HOLDS:
            if not self.correction:
                raise ValueError(f"verdict '{self.verdict}' needs a correction")
            if not self.references and not self.corrected_by:
                raise ValueError(f"verdict '{self.verdict}' needs references for its correction")
        return self


class Prior(_Data):
    """A criterion's standing before the questionnaire: a score, or, for a front-end over
    backends (Keras), the backend's score for these answers moved by `delta`."""

    score: float | None = Field(None, ge=0, le=5)
    inherit: bool = False
    delta: float = Field(0.0, ge=-5, le=5)
    at_most: float | None = Field(None, ge=0, le=5)
    """an inherited prior never exceeds this (a front-end is maintained no better than itself)"""
    claims: list[str] = Field(min_length=1)
    note: str | None = None

    @model_validator(mode="after")
    def _one_source(self) -> Prior:
        if (self.score is None) == (not self.inherit):
            raise ValueError("a prior has either a score or inherit = true")
        if (self.delta or self.at_most is not None) and not self.inherit:
            raise ValueError("delta and at_most only apply to an inherited prior")
        return self

    def base(self, inherited: float | None) -> float:
        """The prior's value, given the backend's score where it inherits."""
        if self.score is not None:
            return self.score
        ceiling = 5.0 if self.at_most is None else self.at_most
        return max(0.0, min(ceiling, (inherited or 0.0) + self.delta))


class StandingCaveat(_Data):
    """A warning that holds for a framework whatever the questionnaire says."""

    message: str
    claims: list[str] = Field(min_length=1)


class ProbeEnvironment(_Data):
    """The interpreter a framework's probes run in, and how set-up creates it.

    `venv` is relative to the repository root; absent, the probes run in the advisor's own
    interpreter. `pythons` lists the interpreters set-up tries, newest first (the newest Python
    the framework's current release supports); `fallback_requirements` is installed with the
    advisor's own Python when none of them exists.
    """

    venv: str | None = Field(None, pattern=r"^\.venv[A-Za-z0-9._-]*$")
    pythons: list[str] = Field(default_factory=list)
    requirements: str | None = None
    fallback_requirements: str | None = None


class ProbeSpec(_Data):
    """Which probe backend measures the framework (a module of probes/frameworks)."""

    backend: str = Field(pattern=r"^probes\.frameworks\.[a-z_][a-z0-9_]*$")
    environment: ProbeEnvironment = Field(default_factory=ProbeEnvironment)
    quick_backends: list[str] = Field(
        default_factory=list,
        description="a front-end's backends that a default quick run probes (empty: all); "
        "`--framework` or another suite probes every backend",
    )


class FrameworkProfile(_Data):
    """A framework as the registry declares it: identity, lifecycle, how it is probed, and its
    standing (prior scores) before the questionnaire is read."""

    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    name: str
    order: int = Field(ge=0, description="display order and the last tie-break")
    aliases: list[str] = Field(default_factory=list)
    codebases: list[str] = Field(
        default_factory=list,
        description="team.existing_codebase values meaning code for this framework (default: its id)",
    )
    pypi: str = Field(pattern=r"^[A-Za-z0-9._-]+$", description="package that installs it")
    pypi_variants: list[str] = Field(
        default_factory=list,
        description="other packages that install the same framework with the same version "
        "numbers (a CPU-only build), so an installed one counts as the framework's version",
    )
    doc_domains: list[str] = Field(
        default_factory=list, description="words in its own documentation's web addresses"
    )
    probe: ProbeSpec | None = None
    kind: Literal["framework", "frontend"] = "framework"
    backends: list[str] = Field(
        default_factory=list,
        description="for a front-end: the frameworks it runs on, each scored as an option",
    )
    lifecycle: Lifecycle
    lifecycle_note: str
    lifecycle_claims: list[str] = Field(min_length=1)
    version_line: str
    latest_version: str
    latest_release: str = Field(pattern=r"^\d{4}-\d{2}(-\d{2})?$")
    homepage: str = Field(pattern=r"^https?://")
    install: str
    standing_caveats: list[StandingCaveat] = Field(default_factory=list)
    priors: dict[Criterion, Prior]

    @model_validator(mode="after")
    def _every_criterion(self) -> FrameworkProfile:
        missing = [c.value for c in CRITERIA if c not in self.priors]
        if missing:
            raise ValueError(f"priors missing for: {', '.join(missing)}")
        if (self.kind == "frontend") != bool(self.backends):
            raise ValueError("a frontend names its backends, and only a frontend has backends")
        strange = sorted(set(self.probe.quick_backends if self.probe else ()) - set(self.backends))
        if strange:
            raise ValueError(
                f"probe.quick_backends names backends it does not list: {', '.join(strange)}"
            )
        inheriting = [c.value for c, p in self.priors.items() if p.inherit]
        if inheriting and self.kind != "frontend":
            raise ValueError(f"only a frontend inherits priors ({', '.join(inheriting)})")
        return self

    @property
    def maintained(self) -> bool:
        return self.lifecycle is not Lifecycle.RETIRED

    def entry(self) -> Entry:
        return Entry(
            id=self.id,
            name=self.name,
            aliases=tuple(self.aliases),
            codebases=tuple(self.codebases or [self.id]),
        )


class Effect(_Data):
    """What a rule does: shift one framework's criterion score (delta), set it from what the
    questionnaire requires (level), exclude it, warn about it, or scale how much a criterion
    matters for this questionnaire (relevance, for every framework).

    Levels serve coverage criteria: a team's hardware, targets and languages must all work, so
    when several level rules fire for one framework and criterion the weakest one counts, and it
    replaces the general prior (breadth of support says little about the one thing you need).

    Relevance expresses the questionnaire's meaning, not a preference: if a team deploys nowhere,
    differences in deployment paths cannot matter to it, whatever priority it left at default;
    if its model must run in a browser or on a microcontroller, the path there decides more than
    the same priority would on a server. Below 1 damps a criterion, above 1 (at most 2) stresses
    it; the engine multiplies the strongest damping by the strongest stress.
    """

    framework: str | None = None
    backend: str | None = None
    """for a front-end's effect: only when it runs on this backend"""
    criterion: Criterion | None = None
    delta: float | None = Field(None, ge=-5, le=5)
    level: float | None = Field(None, ge=0, le=5)
    relevance: float | None = Field(None, ge=0, le=2)
    exclude: bool = False
    caveat: str | None = None

    @model_validator(mode="after")
    def _one_kind(self) -> Effect:
        kinds = sum(
            [
                self.delta is not None,
                self.level is not None,
                self.relevance is not None,
                self.exclude,
                self.caveat is not None,
            ]
        )
        if kinds != 1:
            raise ValueError(
                "an effect is exactly one of: delta, level, relevance, exclude, caveat"
            )
        if self.relevance is not None:
            if self.criterion is None or self.framework is not None:
                raise ValueError("a relevance effect names a criterion and no framework")
        elif self.framework is None:
            raise ValueError("this effect needs a framework")
        if (self.delta is not None or self.level is not None) and self.criterion is None:
            raise ValueError("a delta or level needs a criterion")
        if (self.exclude or self.caveat is not None) and self.criterion is not None:
            raise ValueError("exclusions and caveats take no criterion")
        return self

    def describe(self) -> str:
        if self.relevance is not None:
            return f"{self.criterion} counts x{self.relevance:g}"
        if self.exclude:
            return f"excludes {self.framework}"
        if self.caveat is not None:
            return f"warns about {self.framework}"
        if self.level is not None:
            return f"{self.framework} {self.criterion} at {self.level:g} for your needs"
        return f"{self.framework} {self.criterion} {self.delta:+g}"


class Rule(_Data):
    id: str = Field(pattern=ID_PATTERN)
    when: Condition | None = None
    rationale: str = Field(min_length=10)
    claims: list[str] = Field(min_length=1)
    effects: list[Effect] = Field(min_length=1)


class NextStep(_Data):
    """A concrete action after the pick, shown when its condition holds (knowledge/next_steps)."""

    id: str = Field(pattern=ID_PATTERN)
    framework: str
    when: Condition | None = None
    title: str
    detail: str
    command: str | None = None
    claims: list[str] = Field(min_length=1)


class ScoringSettings(_Data):
    task_fit_weight: float = Field(4.0, gt=0, le=5)
    score_min: float = 0.0
    score_max: float = 5.0


class CompiledRule(NamedTuple):
    rule: Rule
    applies: Predicate
    source_file: str


class CompiledStep(NamedTuple):
    step: NextStep
    applies: Predicate


@dataclass(frozen=True, eq=False)
class Knowledge:
    """The indexed knowledge base the engine reads; build it with `build_knowledge`."""

    seeds: Mapping[str, Seed]
    references: Mapping[str, Reference]
    claims: Mapping[str, Claim]
    frameworks: Mapping[str, FrameworkProfile]
    """in registry order"""
    registry: Registry
    rules: tuple[CompiledRule, ...]
    next_steps: tuple[CompiledStep, ...]
    scoring: ScoringSettings
    calibration: CalibrationPolicy
    version: str
    claim_files: Mapping[str, str] = field(default_factory=dict)
    overridden_by: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    """claim id -> seed claims (outdated or wrong) that this claim's evidence overturns"""
    deployment: DeploymentCatalogue | None = None
    """the deployment paths the probes measure (knowledge/deployment.toml), None without it; as
    a model, so the compiled cache restores it without validating again (that costs ~40 ms)"""
    uncertainty: Mapping[str, Any] = field(default_factory=dict)
    """how uncertain scores are (knowledge/uncertainty.toml), validated at load and kept as plain
    data, so a command that never analyses need not import its model; `policy_of` in
    advisor.core.decision.uncertainty reads it"""


def _problem(file: str, what: str, ident: str | None, error: Exception) -> KnowledgeError:
    where = f"{file}: {what} '{ident}'" if ident else f"{file}: {what}"
    if isinstance(error, ValidationError):
        first = error.errors()[0]
        loc = ".".join(str(p) for p in first["loc"])
        detail = f"{loc}: {first['msg']}" if loc else first["msg"]
        if len(error.errors()) > 1:
            detail += f" (and {len(error.errors()) - 1} more)"
    else:
        detail = str(error)
    return KnowledgeError(f"{where}: {detail}")


def _items(files: Mapping[str, Mapping[str, Any]], key: str) -> list[tuple[str, dict[str, Any]]]:
    found: list[tuple[str, dict[str, Any]]] = []
    for name, table in files.items():
        unknown = set(table) - {key}
        if unknown:
            raise KnowledgeError(
                f"{name}: unexpected top-level key(s) {sorted(unknown)}; expected [[{key}]]"
            )
        items = table.get(key, [])
        for item in [items] if isinstance(items, dict) else items:
            if not isinstance(item, dict):
                raise KnowledgeError(f"{name}: every [[{key}]] entry must be a table")
            found.append((name, item))
    return found


def _parse(model: type[BaseModel], name: str, what: str, raw: dict[str, Any]) -> Any:
    try:
        return model.model_validate(raw)
    except ValidationError as error:
        raise _problem(name, what, raw.get("id"), error) from None


def _expand_per_framework(raw: dict[str, Any], frameworks: Sequence[str]) -> list[dict[str, Any]]:
    """A rule marked per_framework = true stands for one rule per framework ({framework})."""
    if not raw.get("per_framework"):
        return [raw]
    body = {k: v for k, v in raw.items() if k != "per_framework"}
    return [
        {**substitute(body, FRAMEWORK_PLACEHOLDER, fw), "id": f"{raw.get('id')}:{fw}"}
        for fw in frameworks
    ]


def _check_frameworks(
    name: str, what: str, named: Iterable[str | None], registry: Registry
) -> None:
    for framework in named:
        if framework is not None and framework not in registry:
            raise KnowledgeError(
                f"{name}: {what}: unknown framework '{framework}' "
                f"(the registry in knowledge/frameworks/ has: {', '.join(registry.ids)})"
            )


def build_knowledge(tables: Mapping[str, Mapping[str, Mapping[str, Any]]]) -> Knowledge:
    """Validate and index parsed knowledge files.

    `tables` maps a kind ("seeds", "references", "claims", "frameworks", "rules", "next_steps",
    "scoring", "calibration", "uncertainty") to {file name: parsed TOML}.
    """
    seeds: dict[str, Seed] = {}
    for name, raw in _items(tables.get("seeds", {}), "seed"):
        seed = _parse(Seed, name, "seed", raw)
        seeds[seed.id] = seed

    references: dict[str, Reference] = {}
    for name, raw in _items(tables.get("references", {}), "reference"):
        ref = _parse(Reference, name, "reference", raw)
        if ref.id in references:
            raise KnowledgeError(f"{name}: reference '{ref.id}' is defined twice")
        references[ref.id] = ref

    frameworks, registry, profiles = _registry(tables.get("frameworks", {}))

    claims: dict[str, Claim] = {}
    claim_files: dict[str, str] = {}
    for name, raw in _items(tables.get("claims", {}), "claim"):
        claim = _parse(Claim, name, "claim", raw)
        if claim.id in claims:
            raise KnowledgeError(
                f"{name}: claim '{claim.id}' is defined twice (also in {claim_files[claim.id]})"
            )
        if claim.source and claim.source.seed not in seeds:
            raise KnowledgeError(f"{name}: claim '{claim.id}': unknown seed '{claim.source.seed}'")
        for ref in claim.references:
            if ref not in references:
                raise KnowledgeError(f"{name}: claim '{claim.id}': unknown reference '{ref}'")
        _check_frameworks(name, f"claim '{claim.id}'", claim.frameworks, registry)
        claims[claim.id] = claim
        claim_files[claim.id] = name
    for claim_id, claim in claims.items():
        for other in claim.corrected_by:
            if other not in claims:
                raise KnowledgeError(
                    f"{claim_files[claim_id]}: claim '{claim_id}': corrected_by names unknown claim '{other}'"
                )

    def check_claims(name: str, what: str, ident: str, cited: list[str]) -> None:
        for claim_id in cited:
            if claim_id not in claims:
                raise KnowledgeError(f"{name}: {what} '{ident}': unknown claim '{claim_id}'")

    for name, profile in profiles:
        check_claims(name, "framework", profile.id, profile.lifecycle_claims)
        for caveat in profile.standing_caveats:
            check_claims(
                name, f"framework '{profile.id}' caveat", "standing_caveats", caveat.claims
            )
        for criterion, prior in profile.priors.items():
            check_claims(name, f"framework '{profile.id}' prior", criterion.value, prior.claims)

    rules: list[CompiledRule] = []
    seen_rules: set[str] = set()
    for name, raw_rule in _items(tables.get("rules", {}), "rule"):
        for raw in _expand_per_framework(raw_rule, registry.ids):
            try:
                expanded = _expand_quantifiers(raw, registry)
            except KnowledgeError as error:
                raise KnowledgeError(f"{name}: rule '{raw.get('id')}': {error}") from None
            rule = _parse(Rule, name, "rule", expanded)
            if rule.id in seen_rules:
                raise KnowledgeError(f"{name}: rule '{rule.id}' is defined twice")
            seen_rules.add(rule.id)
            check_claims(name, "rule", rule.id, rule.claims)
            _check_frameworks(
                name, f"rule '{rule.id}'", (e.framework for e in rule.effects), registry
            )
            for effect in rule.effects:
                if effect.backend is not None and (
                    effect.framework not in frameworks
                    or effect.backend not in frameworks[effect.framework].backends
                ):
                    raise KnowledgeError(
                        f"{name}: rule '{rule.id}': backend '{effect.backend}' is not a backend "
                        f"of '{effect.framework}'"
                    )
            try:
                applies = compile_condition(rule.when, registry)
            except ConditionError as error:
                raise KnowledgeError(f"{name}: rule '{rule.id}': {error}") from None
            rules.append(CompiledRule(rule=rule, applies=applies, source_file=name))

    steps: list[CompiledStep] = []
    step_files: dict[str, str] = {}
    for name, raw in _items(tables.get("next_steps", {}), "step"):
        step = _parse(NextStep, name, "step", _expand_quantifiers(raw, registry))
        if step.id in step_files:
            raise KnowledgeError(
                f"{name}: step '{step.id}' is defined twice (also in {step_files[step.id]})"
            )
        step_files[step.id] = name
        check_claims(name, "step", step.id, step.claims)
        _check_frameworks(name, f"step '{step.id}'", [step.framework], registry)
        try:
            steps.append(CompiledStep(step=step, applies=compile_condition(step.when, registry)))
        except ConditionError as error:
            raise KnowledgeError(f"{name}: step '{step.id}': {error}") from None

    scoring_tables = list(tables.get("scoring", {}).items())
    try:
        scoring = ScoringSettings.model_validate(scoring_tables[0][1] if scoring_tables else {})
    except ValidationError as error:
        raise _problem(scoring_tables[0][0], "scoring", None, error) from None

    calibration_tables = list(tables.get("calibration", {}).items())
    if not calibration_tables:
        raise KnowledgeError("calibration.toml: missing (the calibration policy is data)")
    name, table = calibration_tables[0]
    unknown = set(table) - {"calibration"}
    if unknown:
        raise KnowledgeError(
            f"{name}: unexpected top-level key(s) {sorted(unknown)}; expected [calibration]"
        )
    try:
        calibration = CalibrationPolicy.model_validate(table.get("calibration", {}))
    except ValidationError as error:
        raise _problem(name, "calibration", None, error) from None

    uncertainty = _uncertainty(tables.get("uncertainty", {}))
    kinds = set(uncertainty.get("age", {}).get("shelf_life_days", {}))
    for claim_id, claim in claims.items():
        if isinstance(claim.shelf, str) and claim.shelf not in kinds:
            raise KnowledgeError(
                f"{claim_files[claim_id]}: claim '{claim_id}': shelf '{claim.shelf}' is not a "
                f"kind of uncertainty.toml (allowed: {', '.join(sorted(kinds))}, or a number of days)"
            )
        if isinstance(claim.shelf, int) and claim.shelf <= 0:
            raise KnowledgeError(
                f"{claim_files[claim_id]}: claim '{claim_id}': shelf must be a positive number of days"
            )
    deployment = _deployment(tables.get("deployment", {}), frameworks, claims)
    overridden_by = _corrections(claims)
    import hashlib  # loading from the compiled cache skips this

    digest = hashlib.sha256(
        json.dumps(tables, sort_keys=True, default=_jsonable).encode()
    ).hexdigest()[:12]
    return Knowledge(
        seeds=seeds,
        references=references,
        claims=claims,
        frameworks=frameworks,
        registry=registry,
        rules=tuple(rules),
        next_steps=tuple(steps),
        scoring=scoring,
        calibration=calibration,
        version=digest,
        claim_files=claim_files,
        overridden_by=overridden_by,
        uncertainty=uncertainty,
        deployment=deployment,
    )


def _deployment(
    files: Mapping[str, Mapping[str, Any]],
    frameworks: Mapping[str, FrameworkProfile],
    claims: Mapping[str, Claim],
) -> DeploymentCatalogue | None:
    """The deployment-path catalogue (knowledge/deployment.toml), checked against the registry
    and the claims; None when the knowledge has no such file."""
    if not files:
        return None
    name, table = next(iter(files.items()))
    try:
        catalogue = DeploymentCatalogue.model_validate(table)
    except ValidationError as error:
        raise _problem(name, "deployment", None, error) from None
    problem = check_catalogue(
        catalogue, {fw: tuple(p.backends) for fw, p in frameworks.items()}, claims
    )
    if problem:
        raise KnowledgeError(f"{name}: {problem}")
    return catalogue


def _uncertainty(files: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """The uncertainty policy (knowledge/uncertainty.toml, one [uncertainty] table), validated."""
    from advisor.core.decision.uncertainty_policy import UncertaintyPolicy

    if not files:
        raise KnowledgeError("uncertainty.toml: missing (the uncertainty policy is data)")
    name, table = next(iter(files.items()))
    unknown = set(table) - {"uncertainty"}
    if unknown:
        raise KnowledgeError(
            f"{name}: unexpected top-level key(s) {sorted(unknown)}; expected [uncertainty]"
        )
    try:
        policy = UncertaintyPolicy.model_validate(table.get("uncertainty", {}))
    except ValidationError as error:
        raise _problem(name, "uncertainty", None, error) from None
    return policy.model_dump()


def _registry(
    files: Mapping[str, Mapping[str, Any]],
) -> tuple[dict[str, FrameworkProfile], Registry, list[tuple[str, FrameworkProfile]]]:
    """Parse the framework files into profiles (in their declared order) and the registry."""
    profiles: list[tuple[str, FrameworkProfile]] = []
    seen: dict[str, str] = {}
    for name, raw in _items(files, "framework"):
        profile = _parse(FrameworkProfile, name, "framework", raw)
        if profile.id in seen:
            raise KnowledgeError(
                f"{name}: framework '{profile.id}' is defined twice (also in {seen[profile.id]})"
            )
        seen[profile.id] = name
        profiles.append((name, profile))
    if not profiles:
        raise KnowledgeError("frameworks: no framework is declared (knowledge/frameworks/*.toml)")
    profiles.sort(key=lambda pair: (pair[1].order, pair[1].id))
    names: dict[str, str] = {}
    for name, profile in profiles:
        entry = profile.entry()
        for alias in (entry.id, *entry.aliases):
            owner = names.setdefault(alias.lower(), entry.id)
            if owner != entry.id:
                raise KnowledgeError(
                    f"{name}: framework '{entry.id}': name '{alias}' already means '{owner}'"
                )
        for codebase in entry.codebases:
            if codebase == NO_CODEBASE:
                raise KnowledgeError(f"{name}: framework '{entry.id}': codebase 'none' is reserved")
    by_id = {p.id: p for _, p in profiles}
    for name, profile in profiles:
        if profile.probe is not None and profile.probe.backend != f"probes.frameworks.{profile.id}":
            raise KnowledgeError(
                f"{name}: framework '{profile.id}': probe.backend must be "
                f"'probes.frameworks.{profile.id}' (the worker loads the module named after the id)"
            )
        for backend in profile.backends:
            if backend not in by_id or by_id[backend].kind != "framework":
                raise KnowledgeError(
                    f"{name}: framework '{profile.id}': backend '{backend}' is not a declared "
                    "framework"
                )
    registry = Registry([p.entry() for _, p in profiles])
    return by_id, registry, profiles


QUANTIFIERS = {"every_framework": "all", "any_framework": "any"}


def _expand_quantifiers(data: Any, registry: Registry) -> Any:
    """Registry-dependent condition forms, expanded before validation:
    `{every_framework = COND}` (or any_framework) is COND with {framework} replaced by each
    registered framework, joined by all (any), so conditions over the whole candidate set stay
    true as frameworks are added; `{codebase_of = ID}` holds when the existing codebase runs on
    that framework as it is (one of its registry codebases)."""
    if isinstance(data, list):
        return [_expand_quantifiers(v, registry) for v in data]
    if not isinstance(data, dict):
        return data
    if len(data) == 1:
        ((key, body),) = data.items()
        if key in QUANTIFIERS:
            return {
                QUANTIFIERS[key]: [
                    _expand_quantifiers(substitute(body, FRAMEWORK_PLACEHOLDER, fw), registry)
                    for fw in registry
                ]
            }
        if key == "codebase_of" and isinstance(body, str):
            if body not in registry:
                raise KnowledgeError(f"codebase_of names unknown framework '{body}'")
            return {"field": "team.existing_codebase", "in": list(registry[body].codebases)}
    return {k: _expand_quantifiers(v, registry) for k, v in data.items()}


def _corrections(claims: Mapping[str, Claim]) -> dict[str, tuple[str, ...]]:
    """Link each current claim to the seed claims it overturns.

    A seed claim marked outdated or wrong is overturned by any non-seed claim that shares one of
    its correcting references, or that it names in corrected_by.
    """
    by_reference: dict[str, list[str]] = {}
    for claim in claims.values():
        if claim.source is None:
            for ref in claim.references:
                by_reference.setdefault(ref, []).append(claim.id)
    links: dict[str, list[str]] = {}
    for seed_claim in claims.values():
        if seed_claim.source is None or seed_claim.verdict is Verdict.HOLDS:
            continue
        correctors = set(seed_claim.corrected_by)
        for ref in seed_claim.references:
            correctors.update(by_reference.get(ref, ()))
        for corrector in sorted(correctors):
            links.setdefault(corrector, []).append(seed_claim.id)
    return {k: tuple(v) for k, v in links.items()}


def _jsonable(value: Any) -> Any:
    if isinstance(value, Enum):
        return value.value
    return str(value)
