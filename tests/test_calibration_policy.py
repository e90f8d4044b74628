"""The calibration policy is data: knowledge/calibration.toml is validated when knowledge loads."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from advisor.core.knowledge import KnowledgeError
from advisor.core.questionnaire import Requirements
from advisor.files.knowledge_files import knowledge_dir, load_knowledge


def _with_policy(tmp_path: Path, old: str, new: str) -> Path:
    folder = tmp_path / "knowledge"
    shutil.copytree(knowledge_dir(), folder)
    policy = folder / "calibration.toml"
    text = policy.read_text(encoding="utf-8")
    assert old in text
    policy.write_text(text.replace(old, new), encoding="utf-8")
    return folder


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("computer_vision = { conv = 3.0 }", "computer_vision = { convv = 3.0 }", "convv"),
        ("computer_vision = { conv = 3.0 }\n", "", "task_weight lacks: computer_vision"),
        ("stale_days = 90", "stale_days = 10", "stale_days must be later"),
        ("max_confidence = 0.6", "max_confidence = 1.6", "max_confidence"),
        ('mlp_train = ["mlp_eager", "mlp_compiled"]', 'mlp_train = ["mlp_eagre"]', "mlp_eagre"),
    ],
)
def test_a_bad_policy_fails_at_load_naming_the_file(
    tmp_path: Path, old: str, new: str, message: str
) -> None:
    with pytest.raises(KnowledgeError, match=r"calibration\.toml") as caught:
        load_knowledge(_with_policy(tmp_path, old, new))
    assert message in str(caught.value)


def test_the_policy_file_decides_the_weights(tmp_path: Path) -> None:
    """Edit the data, and calibration's weights follow with no code change."""
    kb = load_knowledge(
        _with_policy(
            tmp_path, "computer_vision = { conv = 3.0 }", "computer_vision = { conv = 7.0 }"
        )
    )
    vision = Requirements.model_validate({"project": {"tasks": ["computer_vision"]}})
    assert kb.calibration.family_weights(vision)["conv"] == pytest.approx(0.5 + 7.0)
    assert kb.calibration.age_factor(10) == 1.0
    assert kb.calibration.age_factor(60) == pytest.approx(0.85)
    assert kb.calibration.age_factor(365) == kb.calibration.stale_factor
