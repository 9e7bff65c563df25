"""The model JSON in the repo, and what nightly prediction takes from it."""

from __future__ import annotations

import json

from cdp.identity.model import MODEL_PATH, UNSEEN_LEVEL_M, floor_unseen_m_probabilities, model_for_prediction


def test_prediction_skips_only_the_blocking_rules_deterministic_links_cover():
    saved = [
        rule["blocking_rule"] for rule in json.loads(MODEL_PATH.read_text())["blocking_rules_to_generate_predictions"]
    ]
    used = [rule["blocking_rule"] for rule in model_for_prediction()["blocking_rules_to_generate_predictions"]]
    assert set(saved) - set(used) == {'l."email" = r."email"', 'l."phone" = r."phone"'}
    assert [rule for rule in saved if rule in used] == used  # the rest, in the saved order


def test_no_level_of_the_saved_model_vetoes_a_pair():
    for comparison in json.loads(MODEL_PATH.read_text())["comparisons"]:
        for level in comparison["comparison_levels"]:
            if not level.get("is_null_level"):
                assert level["m_probability"] > 0, (comparison["output_column_name"], level["label_for_charts"])


def test_levels_training_never_reached_get_a_small_m(tmp_path):
    model = json.loads(MODEL_PATH.read_text())
    model["comparisons"][0]["comparison_levels"][1]["m_probability"] = 0.0
    path = tmp_path / "model.json"
    path.write_text(json.dumps(model))
    floor_unseen_m_probabilities(path)
    assert json.loads(path.read_text())["comparisons"][0]["comparison_levels"][1]["m_probability"] == UNSEEN_LEVEL_M
