"""The what-if search's parts, each on small hand-made inputs: the questionnaire's leaves, edits
parsed and applied, the single-answer edits offered, their wording, and the report in words."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from advisor.core.criteria import Criterion
from advisor.core.decision.crossover import CrossoverReport, PriorityCrossover
from advisor.core.decision.whatif import (
    Flip,
    Leaf,
    RunnerUp,
    WhatIfError,
    WhatIfReport,
    _answer_edits,
    _label,
    _lead,
    _leaves,
    _parse_value,
    _points,
    _varied,
    answer_at,
    apply_changes,
    leaves,
    smallest_flips,
    wins,
)
from advisor.core.engine import recommend
from advisor.core.in_force import knowledge_in_force
from advisor.core.questionnaire import Priorities, Requirements
from advisor.core.recommendation import Recommendation
from advisor.files.answer_files import load_answers

REGISTRY = knowledge_in_force(None).registry
ROOT = Path(__file__).resolve().parents[1]


def _requirements(**sections: object) -> Requirements:
    return Requirements.model_validate({"project": {"tasks": ["nlp"]}, **sections})


def test_every_answer_is_a_leaf_with_the_values_it_takes() -> None:
    # read fresh (`leaves` keeps what it found per registry, for the life of the process)
    found = {leaf.path: leaf for leaf in _leaves(Requirements, REGISTRY)}
    assert leaves(REGISTRY) == found and leaves(REGISTRY) is leaves(REGISTRY)
    kinds = {path: leaf.kind for path, leaf in found.items()}
    assert kinds["project.tasks"] == "enum_list"
    assert kinds["project.stage"] == "enum"
    assert kinds["project.pretrained_models"] == "bool"
    assert kinds["priorities.deployment"] == "int"
    assert kinds["constraints.candidates"] == "enum_list"
    assert found["project.stage"].choices == ("research", "prototype", "production")
    assert found["team.existing_codebase"].choices == REGISTRY.codebases
    assert found["constraints.exclude"].choices == REGISTRY.ids
    # a table keyed by framework: one leaf per framework, and a missing key means its default
    for framework in REGISTRY.ids:
        leaf = found[f"team.experience.{framework}"]
        assert leaf == Leaf(f"team.experience.{framework}", "enum", ("none", "some", "expert"),
                            "none")  # fmt: skip
    assert "team.experience" not in found and "project" not in found
    assert all(leaf.default is None for p, leaf in found.items() if ".experience." not in p)


def test_answer_at_walks_dotted_paths_and_defaults_only_the_last_part() -> None:
    data = {"team": {"experience": {"jax": "some"}, "languages": ["python"]}}
    assert answer_at(data, "team.experience.jax") == "some"
    assert answer_at(data, "team.languages") == ["python"]
    assert answer_at(data, "team.experience.mxnet", "none") == "none"
    assert answer_at(data, "team.experience.mxnet") is None
    with pytest.raises(KeyError):
        answer_at(data, "project.tasks", "x")  # a missing section is no default


@pytest.mark.parametrize(
    ("kind", "raw", "value"),
    [("bool", " True ", True), ("bool", "FALSE", False), ("bool", "false", False),
     ("int", " 4 ", 4), ("int", "0", 0), ("enum", " research ", "research"),
     ("enum_list", " mobile, ,browser ", ["mobile", "browser"]), ("enum_list", "", [])],
)  # fmt: skip
def test_values_parse_by_the_kind_of_answer(kind: str, raw: str, value: object) -> None:
    assert _parse_value(Leaf("a.b", kind), raw) == value


def test_unparsable_values_name_the_path_and_what_to_write() -> None:
    with pytest.raises(WhatIfError) as bool_error:
        _parse_value(Leaf("a.flag", "bool"), "yes")
    assert str(bool_error.value) == "--set a.flag=yes: use true or false"
    with pytest.raises(WhatIfError) as int_error:
        _parse_value(Leaf("a.level", "int"), "high")
    assert str(int_error.value) == "--set a.level=high: use a whole number (0-5)"
    assert int_error.value.__cause__ is None and int_error.value.__suppress_context__


def test_apply_changes_messages_are_one_line_and_exact() -> None:
    base = _requirements()
    assert apply_changes(base, [" priorities.deployment = 5"]).priorities.deployment == 5
    with pytest.raises(WhatIfError) as no_value:
        apply_changes(base, ["priorities.deployment"])
    assert str(no_value.value) == (
        "--set 'priorities.deployment': write PATH=VALUE, e.g. priorities.deployment=5"
    )
    with pytest.raises(WhatIfError) as unknown:
        apply_changes(base, ["priorities.deploy=5"])
    known = ", ".join(sorted(leaves(REGISTRY)))
    assert str(unknown.value) == f"--set priorities.deploy: unknown answer; one of {known}"
    with pytest.raises(WhatIfError) as invalid:
        apply_changes(base, ["priorities.deployment=9"])
    assert "\n" not in str(invalid.value) and invalid.value.__cause__ is None
    assert str(invalid.value) == (
        "--set: priorities.deployment: 9 is out of range (allowed: 0 to 5)"
    )  # names where the bad value came from, as a file's name would be
    assert apply_changes(base, []) == base
    two = apply_changes(base, ["priorities.deployment=1", "priorities.deployment=4"])
    assert two.priorities.deployment == 4  # the last edit of a path wins


def test_labels_come_from_the_schemas_names() -> None:
    assert _label("deployment.targets") == "deployment targets"
    assert _label("team.existing_codebase") == "existing codebase"
    assert _label("team.experience.pytorch") == "pytorch experience"
    assert _label("project.model_size") == "model size"
    assert _label("team.experience.tf_lite") == "tf lite experience"  # an id may hold "_"


def test_single_answer_edits_are_every_other_value_and_each_list_item_in_or_out() -> None:
    requirements = _requirements(
        project={"tasks": ["nlp"], "stage": "research"},
        deployment={"targets": ["mobile", "browser"]},
        team={"experience": {"jax": "some"}},
    )
    edits = list(_answer_edits(requirements, leaves(REGISTRY)))
    by_path: dict[str, list[tuple[str, str]]] = {}
    for change, words, path in edits:
        assert change.startswith(path + "=")
        by_path.setdefault(path, []).append((change, words))
    assert not any(p.startswith(("priorities.", "constraints.")) for p in by_path)
    assert by_path["project.stage"] == [
        ("project.stage=prototype", "project stage were prototype"),
        ("project.stage=production", "project stage were production"),
    ]
    assert by_path["project.pretrained_models"] == [
        ("project.pretrained_models=true", "pretrained models were true")
    ]
    assert by_path["team.experience.jax"] == [
        ("team.experience.jax=none", "jax experience were none"),
        ("team.experience.jax=expert", "jax experience were expert"),
    ]
    assert by_path["team.experience.mxnet"] == [  # not answered: "none", its default
        ("team.experience.mxnet=some", "mxnet experience were some"),
        ("team.experience.mxnet=expert", "mxnet experience were expert"),
    ]
    assert by_path["deployment.targets"] == [
        ("deployment.targets=mobile,browser,cloud_server",
         "you added cloud_server to the deployment targets"),
        ("deployment.targets=mobile,browser,on_prem_server",
         "you added on_prem_server to the deployment targets"),
        ("deployment.targets=browser", "you dropped mobile from the deployment targets"),
        ("deployment.targets=mobile", "you dropped browser from the deployment targets"),
        ("deployment.targets=mobile,browser,edge_device",
         "you added edge_device to the deployment targets"),
        ("deployment.targets=mobile,browser,microcontroller",
         "you added microcontroller to the deployment targets"),
        ("deployment.targets=none", "the deployment targets were none"),
    ]  # fmt: skip
    # the only item of a list is never dropped (an empty list is no answer)
    assert by_path["project.tasks"][0] == (
        "project.tasks=nlp,computer_vision",
        "you added computer_vision to the project tasks",
    )
    assert not any(
        words.startswith("you dropped") for words in dict(by_path["project.tasks"]).values()
    )
    # from "none", an added item replaces it
    nothing = _requirements(deployment={"targets": ["none"]})
    targets = [
        c for c, _, p in _answer_edits(nothing, leaves(REGISTRY)) if p == "deployment.targets"
    ]
    assert targets[0] == "deployment.targets=cloud_server"
    assert "deployment.targets=none" not in targets
    three = _requirements(deployment={"targets": ["mobile", "browser", "edge_device"]})
    dropped = [c for c, w, _ in _answer_edits(three, leaves(REGISTRY)) if "dropped" in w]
    assert dropped == [
        "deployment.targets=browser,edge_device",
        "deployment.targets=mobile,edge_device",
        "deployment.targets=mobile,browser",
    ]
    latency = _requirements(deployment={"latency_critical": True})
    flags = {p: c for c, _, p in _answer_edits(latency, leaves(REGISTRY))}
    assert flags["deployment.latency_critical"] == "deployment.latency_critical=false"


def _flip(change: str, lead: float = 1.0) -> Flip:
    return Flip(framework="jax", name="JAX", kind="answer", change=change, description=change,
                lead=lead)  # fmt: skip


def test_one_suggestion_per_single_valued_answer_every_list_item_its_own() -> None:
    known = leaves(REGISTRY)
    flips = [
        ("team.existing_codebase", _flip("team.existing_codebase=jax")),
        ("deployment.targets", _flip("deployment.targets=mobile")),
        ("team.existing_codebase", _flip("team.existing_codebase=none")),
        ("deployment.targets", _flip("deployment.targets=browser")),
        ("project.stage", _flip("project.stage=research")),
    ]
    assert [f.change for f in _varied(flips, known)] == [
        "team.existing_codebase=jax", "deployment.targets=mobile", "deployment.targets=browser",
        "project.stage=research",
    ]  # fmt: skip


def test_a_win_is_first_place_strictly_ahead() -> None:
    rec = recommend(_requirements())
    top, second = rec.ranking[0].framework, rec.ranking[1].framework
    assert rec.margin is not None and rec.margin > 0
    assert wins(rec, top) and not wins(rec, second)
    assert wins(rec, "".join(top)), "an equal name built elsewhere (JSON, a flag) wins too"
    assert _lead(rec, top) == rec.margin and _lead(rec, second) is None
    tied = rec.model_copy(update={"margin": 0.0})
    assert not wins(tied, top) and _lead(tied, top) is None
    alone = rec.model_copy(update={"margin": None})
    assert wins(alone, top) and _lead(alone, top) == 100.0


def test_points_keep_two_decimals_below_a_tenth() -> None:
    assert [_points(x) for x in (12.34, 0.1, 0.0999, 0.04)] == ["12.3", "0.1", "0.10", "0.04"]


def test_the_report_in_words() -> None:
    flip = Flip(framework="jax", name="JAX", kind="priority", change="priorities.ecosystem=1",
                description="ecosystem mattered 1 instead of 3", lead=0.05)  # fmt: skip
    other = flip.model_copy(update={"change": "project.stage=research", "kind": "answer",
                                    "description": "stage were research", "lead": 2.0})  # fmt: skip
    point = PriorityCrossover(criterion=Criterion.ECOSYSTEM, current=3, direction="lower",
                              at=1.5, whole=1, winner="jax", winner_name="JAX", lead=0.05)  # fmt: skip
    report = WhatIfReport(
        top_pick="pytorch",
        runners_up=[
            RunnerUp(framework="jax", name="JAX", behind=1.5, flips=[flip, other]),
            RunnerUp(framework="mxnet", name="MXNet", behind=30.0, flips=[]),
        ],
        evaluated=7,
        crossovers=CrossoverReport(top_pick="pytorch", priorities=[point]),
    )
    assert report.runners_up[0].sentence() == (
        "JAX would win if ecosystem mattered 1 instead of 3, or if stage were research."
    )
    assert report.text_lines() == [
        "What would change the pick (each change checked by re-running the engine):",
        "  JAX would win if ecosystem mattered 1 instead of 3, or if stage were research.",
        "    --set priorities.ecosystem=1   (JAX ahead by 0.05)",
        "    --set project.stage=research   (JAX ahead by 2.0)",
        "  MXNet would not win with any single change of priority or answer.",
        "  Crossover points (holding your other answers):",
        "    priority: lower ecosystem from 3 to 1 and JAX wins (crosses at 1.50; ahead by 0.1 "
        "points)",
    ]
    assert report.markdown_lines() == [
        "- JAX would win if ecosystem mattered 1 instead of 3, or if stage were research.",
        "  - `--set priorities.ecosystem=1` (JAX ahead by 0.05 points)",
        "  - `--set project.stage=research` (JAX ahead by 2.0 points)",
        "- MXNet would not win with any single change of priority or answer.",
        "",
        "*Each change was applied and the engine re-run to confirm the new winner.*",
        "",
        "Crossover points (holding your other answers):",
        "",
        "| Priority | Now | Change | Crosses at | New winner | Ahead by |",
        "|---|---:|---|---:|---|---:|",
        "| Ecosystem | 3 | lower to 1 | 1.50 | JAX | 0.1 |",
        "",
    ]
    plain = report.model_copy(update={"crossovers": None})
    assert plain.text_lines() == report.text_lines()[:5]
    assert plain.markdown_lines() == report.markdown_lines()[:6]
    empty = WhatIfReport(top_pick="pytorch", runners_up=[], evaluated=0)
    assert empty.text_lines() == [
        "What would change the pick (each change checked by re-running the engine):",
        "  nothing: fewer than two frameworks are eligible.",
    ]
    assert empty.markdown_lines() == ["Nothing: fewer than two frameworks are eligible."]


def test_one_eligible_framework_has_nothing_to_search() -> None:
    report = smallest_flips(_requirements(constraints={"candidates": ["pytorch"]}))
    assert report == WhatIfReport(top_pick="pytorch", runners_up=[], evaluated=0)


def test_the_search_reports_the_smallest_edits_a_brute_force_finds() -> None:
    """Three candidates, where the first runner-up has more winning edits than are shown: every
    edit re-scored here by hand, the report must hold the nearest priority steps (at most three,
    nearest first, then the larger lead) and the answers with the largest leads (at most three,
    one per single-valued answer), and count each distinct edit it scored once."""
    base = apply_changes(
        load_answers(ROOT / "examples" / "microcontroller-keyword-spotting.toml"),
        ["constraints.candidates=tensorflow,keras,pytorch"],
    )
    report = smallest_flips(base)
    rec = recommend(base)
    assert report.top_pick == rec.top_pick
    assert [(r.framework, r.name) for r in report.runners_up] == [
        (r.framework, r.name) for r in rec.ranking[1:]
    ]
    scored: dict[str, Recommendation] = {}

    def score(change: str) -> Recommendation:
        if change not in scored:
            scored[change] = recommend(apply_changes(base, [change]))
        return scored[change]

    tried: set[str] = set()
    caps: list[tuple[int, int]] = []
    answers = [(c, words, p) for c, words, p in _answer_edits(base, leaves(REGISTRY))]
    for runner, ranked in zip(report.runners_up, rec.ranking[1:], strict=True):
        assert runner.behind == pytest.approx(rec.ranking[0].score - ranked.score)
        nearest = []
        for name in Priorities.model_fields:
            current = getattr(base.priorities, name)
            for value in sorted(set(range(6)) - {current}, key=lambda v: abs(v - current)):
                change = f"priorities.{name}={value}"
                tried.add(change)
                result = score(change)
                if wins(result, runner.framework):
                    words = f"{name.replace('_', ' ')} mattered {value} instead of {current}"
                    nearest.append((abs(value - current), -(result.margin or 0), change, words))
                    break
        winning = []
        for change, words, path in answers:
            tried.add(change)
            result = score(change)
            if wins(result, runner.framework):
                winning.append((-(result.margin or 0), change, words, path))
        shown, seen = [], set()
        for _, change, words, path in sorted(winning, key=lambda w: w[0]):
            if path not in seen:
                shown.append((change, words))
                if path not in ("project.tasks", "deployment.targets", "hardware.accelerators",
                                "hardware.os", "team.languages"):  # fmt: skip
                    seen.add(path)
        nearest.sort(key=lambda n: n[:2])  # stable: ties stay in the questionnaire's order
        expected = [(c, w) for _, _, c, w in nearest[:3]] + shown[:3]
        assert [(f.change, f.description) for f in runner.flips] == expected, runner.framework
        for flip in runner.flips:
            assert (flip.framework, flip.name) == (runner.framework, runner.name)
            assert flip.kind == ("priority" if flip.change.startswith("priorities.") else "answer")
            assert flip.lead == scored[flip.change].margin
        caps.append((len(nearest), len(shown)))
    assert caps[0][1] > 3, caps  # more winning answers than are shown: the cap matters
    first = report.runners_up[0]
    assert [f.kind for f in first.flips] == ["priority"] * 3 + ["answer"] * 3  # both capped
    assert first.sentence().startswith(f"{first.name} would win if {first.flips[0].description}")
    assert report.crossovers is not None and report.crossovers.priorities
    for point in report.crossovers.priorities:
        change = f"priorities.{point.criterion.value}={point.whole}"
        tried.add(change)
        assert point.verified == wins(score(change), point.winner)
    assert report.evaluated == len(tried)


def test_two_frameworks_are_searched_too() -> None:
    report = smallest_flips(_requirements(constraints={"candidates": ["pytorch", "jax"]}))
    assert [r.framework for r in report.runners_up] == ["jax"] and report.evaluated > 50


def test_the_search_scores_every_edit_with_the_knowledge_and_figures_it_is_given() -> None:
    """The base and every edited questionnaire are scored with the caller's knowledge and probe
    figures, not the knowledge in force and no figures: a renamed TensorFlow with another
    ecosystem prior, and figures that make it three times PyTorch's speed."""
    import copy

    from advisor.core.decision.whatif import _lead
    from advisor.core.knowledge import build_knowledge
    from advisor.files.knowledge_files import _knowledge_paths, _parse_all, knowledge_dir
    from tests.test_calibration import measured, speeds

    tables = copy.deepcopy(_parse_all(knowledge_dir(), _knowledge_paths(knowledge_dir())))
    tensorflow = tables["frameworks"]["knowledge/frameworks/tensorflow.toml"]["framework"]
    tensorflow["name"] = "TensorFlow (test)"
    tensorflow["priors"]["ecosystem"]["score"] = 5.0
    kb = build_knowledge(tables)
    figures = measured(*speeds(100, 300, 100))
    base = _requirements(constraints={"candidates": ["pytorch", "tensorflow"]})
    report = smallest_flips(base, knowledge=kb, measurements=figures)
    expected = recommend(base, figures, knowledge=kb)
    assert report.top_pick == expected.top_pick
    top = expected.ranking[0].score
    assert [(r.framework, r.name, r.behind) for r in report.runners_up] == [
        (r.framework, r.name, top - r.score) for r in expected.ranking[1:]
    ]
    flips = [(runner.framework, flip) for runner in report.runners_up for flip in runner.flips]
    assert flips  # the check below has something to check
    for framework, flip in flips:
        edited = apply_changes(base, [flip.change], knowledge=kb)
        assert flip.lead == _lead(recommend(edited, figures, knowledge=kb), framework)
    assert report != smallest_flips(base)  # the knowledge and the figures made a difference


def test_the_crossovers_age_claims_at_the_date_asked() -> None:
    """`as_of` reaches the score uncertainty: checks five years old widen every score's sd."""
    requirements = load_answers(ROOT / "examples" / "tf-keras-migration.toml")
    now = smallest_flips(requirements).crossovers
    later = smallest_flips(requirements, as_of=date(2031, 1, 1)).crossovers
    assert now is not None and later is not None and now.scores and later.scores
    sd_now = {(s.framework, s.backend, s.criterion): s.sd for s in now.scores}
    sd_later = {(s.framework, s.backend, s.criterion): s.sd for s in later.scores}
    shared = sd_now.keys() & sd_later.keys()
    assert shared and all(sd_later[k] > sd_now[k] for k in shared)
