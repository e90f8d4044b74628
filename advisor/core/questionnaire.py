"""The questionnaire (schema v1): what a team tells the advisor about its project.

These names and values are a public interface that team tooling writes, so they only ever grow
(new optional fields with defaults); the field descriptions double as CLI help, JSON Schema
documentation and the help texts of the Streamlit form.
"""

from __future__ import annotations

from enum import Enum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from advisor.core.registry import NO_CODEBASE, CodebaseName, FrameworkName

SCHEMA_VERSION = 1
SCHEMA_ID = "https://advisor.invalid/schema/questionnaire-v1.json"


class Choice(str, Enum):
    """An enum whose members print as their plain value."""

    def __str__(self) -> str:
        return str(self.value)


class Task(Choice):
    COMPUTER_VISION = "computer_vision"
    NLP = "nlp"
    SPEECH = "speech"
    RECOMMENDER = "recommender"
    TABULAR = "tabular"
    GENERATIVE = "generative"
    REINFORCEMENT_LEARNING = "reinforcement_learning"
    TIME_SERIES = "time_series"
    GRAPH = "graph"
    OTHER = "other"


class Stage(Choice):
    RESEARCH = "research"
    PROTOTYPE = "prototype"
    PRODUCTION = "production"


class ModelSize(Choice):
    SMALL = "small"
    MEDIUM = "medium"
    LARGE = "large"
    VERY_LARGE = "very_large"


class Target(Choice):
    CLOUD_SERVER = "cloud_server"
    ON_PREM_SERVER = "on_prem_server"
    MOBILE = "mobile"
    BROWSER = "browser"
    EDGE_DEVICE = "edge_device"
    MICROCONTROLLER = "microcontroller"
    NONE = "none"


OFF_SERVER_TARGETS = frozenset(
    {Target.MOBILE, Target.BROWSER, Target.EDGE_DEVICE, Target.MICROCONTROLLER}
)
"""Targets where the model runs outside a server: each framework has its own path there, or none
(the `deploy-off-server` rule names the same set; a test keeps the two equal)."""


class Accelerator(Choice):
    CPU = "cpu"
    NVIDIA_GPU = "nvidia_gpu"
    AMD_GPU = "amd_gpu"
    APPLE_SILICON = "apple_silicon"
    TPU = "tpu"
    INTEL_GPU = "intel_gpu"


class Scale(Choice):
    SINGLE_DEVICE = "single_device"
    MULTI_GPU = "multi_gpu"
    MULTI_NODE = "multi_node"


class OperatingSystem(Choice):
    LINUX = "linux"
    WINDOWS = "windows"
    MACOS = "macos"


class Language(Choice):
    PYTHON = "python"
    CPP = "cpp"
    JAVA = "java"
    JAVASCRIPT = "javascript"
    SCALA = "scala"
    JULIA = "julia"
    R = "r"
    GO = "go"
    OTHER = "other"


class Experience(Choice):
    NONE = "none"
    SOME = "some"
    EXPERT = "expert"


Priority = Annotated[int, Field(ge=0, le=5, strict=True)]


class Section(BaseModel):
    """Every questionnaire section rejects unknown keys: a typo must not be silently ignored."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)


def _unique(values: list[Any]) -> list[Any]:
    """Drop repeated answers, keeping the order the user gave."""
    return list(dict.fromkeys(values))


class Project(Section):
    tasks: list[Task] = Field(
        min_length=1,
        description="What the models do. Frameworks differ most in their model zoos and "
        "libraries per task (pretrained language models, vision backbones, recommender stacks).",
    )
    stage: Stage = Field(
        Stage.PROTOTYPE,
        description="Research values fast iteration and published code; production values "
        "serving, stability and long-term support.",
    )
    model_size: ModelSize = Field(
        ModelSize.MEDIUM,
        description="Parameter count: small <100M, medium <1B, large <10B, very_large beyond. "
        "Large models need sharded (FSDP-style) training and a framework that large-model "
        "tooling targets.",
    )
    pretrained_models: bool = Field(
        False,
        description="Whether you build on pretrained models from model hubs; where those "
        "models are published decides much of the choice.",
    )

    _dedupe = field_validator("tasks")(_unique)


class Deployment(Section):
    targets: list[Target] = Field(
        default_factory=lambda: [Target.CLOUD_SERVER],
        min_length=1,
        description="Where trained models run. Mobile, browser and microcontroller targets "
        "each need a dedicated runtime, which not every framework has.",
        # The JSON Schema states the rule _none_is_alone enforces: "none" stands alone.
        json_schema_extra={"if": {"contains": {"const": "none"}}, "then": {"maxItems": 1}},
    )
    latency_critical: bool = Field(
        False,
        description="Whether per-request latency is a hard requirement (batch-1 inference "
        "speed and a lean serving path then matter).",
    )

    _dedupe = field_validator("targets")(_unique)

    @field_validator("targets")
    @classmethod
    def _none_is_alone(cls, targets: list[Target]) -> list[Target]:
        if Target.NONE in targets and len(targets) > 1:
            raise ValueError("'none' cannot be combined with other targets")
        return targets


class Hardware(Section):
    accelerators: list[Accelerator] = Field(
        default_factory=lambda: [Accelerator.NVIDIA_GPU],
        min_length=1,
        description="Hardware you train and run on. Support for AMD, Apple, Intel GPUs and "
        "TPUs differs sharply between frameworks.",
    )
    scale: Scale = Field(
        Scale.SINGLE_DEVICE,
        description="How far training spreads: one device, several GPUs in one machine, "
        "or several machines.",
    )
    os: list[OperatingSystem] = Field(
        default_factory=lambda: [OperatingSystem.LINUX],
        min_length=1,
        description="Operating systems you develop and train on (GPU support on native "
        "Windows and on macOS differs sharply between frameworks).",
    )

    _dedupe = field_validator("accelerators", "os")(_unique)


class Team(Section):
    languages: list[Language] = Field(
        default_factory=lambda: [Language.PYTHON],
        min_length=1,
        description="Languages the models must be used from; bindings beyond Python vary.",
    )
    existing_codebase: CodebaseName = Field(
        CodebaseName(NO_CODEBASE),
        description="What your current models and pipelines are written in (a framework, or "
        "a codebase kind the registry names, such as legacy high-level API code); rewriting "
        "working code has a real cost.",
    )
    experience: dict[FrameworkName, Experience] = Field(
        default_factory=dict,
        description="What the team already knows, per framework (none, some, expert); "
        "a framework left out counts as none.",
    )

    _dedupe = field_validator("languages")(_unique)

    @field_validator("experience")
    @classmethod
    def _none_is_left_out(cls, experience: dict[str, Experience]) -> dict[str, Experience]:
        """ "none" and a framework left out mean the same, so they compare (and dump) the same."""
        return {fw: level for fw, level in experience.items() if level is not Experience.NONE}

    def experience_with(self, framework: str) -> Experience:
        """The team's experience with a framework (none where the answers do not say)."""
        return self.experience.get(FrameworkName(framework), Experience.NONE)


class Priorities(Section):
    """How much each criterion matters: 0 ignores it, 5 makes it critical."""

    development_speed: Priority = Field(
        3, description="Fast iteration and easy debugging (eager execution, Pythonic APIs)."
    )
    runtime_performance: Priority = Field(
        3, description="Training and inference speed on your hardware (measured by the probes)."
    )
    memory_efficiency: Priority = Field(
        3, description="Peak memory of training and inference (measured by the probes)."
    )
    distributed_training: Priority = Field(
        3, description="Training across several GPUs or machines."
    )
    deployment: Priority = Field(
        3, description="Paths to serving, mobile, browser and embedded targets."
    )
    ecosystem: Priority = Field(
        3, description="Pretrained models, libraries, tutorials and community."
    )
    hardware_support: Priority = Field(
        3, description="Support for your accelerators and operating systems."
    )
    language_support: Priority = Field(
        3, description="Bindings for the languages your team uses besides Python."
    )
    long_term_support: Priority = Field(
        3, description="Active maintenance, releases and security fixes for years to come."
    )
    team_fit: Priority = Field(
        3,
        description="Reuse of your existing codebase and your team's experience "
        "(an addition to schema v1; default 3).",
    )


class Constraints(Section):
    exclude: list[FrameworkName] = Field(
        default_factory=list,
        description="Frameworks you rule out, whatever their score.",
    )
    candidates: list[FrameworkName] = Field(
        default_factory=list,
        description="Frameworks to choose among; empty means every framework the advisor "
        "knows (an addition to schema v1).",
    )
    require_maintained: bool = Field(
        False,
        description="Rule out frameworks that no longer get releases or security fixes.",
    )

    _dedupe = field_validator("exclude", "candidates")(_unique)


class Requirements(Section):
    """A team's answers to the questionnaire: the engine's only input about the project."""

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        title="advisor questionnaire",
    )

    @classmethod
    def model_json_schema(cls, *args: Any, **kwargs: Any) -> dict[str, Any]:
        """The questionnaire's JSON Schema, with its `$id` at the top only: a schema that nests
        the questionnaire (the Recommendation's) must not get an `$id` inside, which would make
        the questionnaire's `#/$defs/...` references resolve against a document without them."""
        return {"$id": SCHEMA_ID, **super().model_json_schema(*args, **kwargs)}

    schema_version: Literal[1] = Field(
        1, description="Version of this questionnaire format; only 1 exists."
    )
    project: Project
    deployment: Deployment = Field(default_factory=Deployment)
    hardware: Hardware = Field(default_factory=Hardware)
    team: Team = Field(default_factory=Team)
    priorities: Priorities = Field(default_factory=Priorities)
    constraints: Constraints = Field(default_factory=Constraints)


CRITERIA_FROM_PRIORITIES: tuple[str, ...] = tuple(Priorities.model_fields)
