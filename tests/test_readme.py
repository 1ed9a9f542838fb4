"""The README's code runs as printed."""

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"


def _snippet(section):
    """The first Python block of the README section titled ``section``."""
    text = README.read_text(encoding="utf-8")
    pattern = rf"## {re.escape(section)}.*?```python\n(.*?)```"
    return re.search(pattern, text, re.S).group(1)


def _run(code, namespace):
    exec(compile(code, str(README), "exec"), namespace)
    return namespace


def test_readme_taste_runs_and_scores_well(capsys):
    namespace = _run(_snippet("A taste"), {})
    printed = capsys.readouterr().out
    accuracy = float(printed.splitlines()[0])
    assert accuracy > 0.95
    assert "Total params" in printed
    assert "val_loss" in printed
    # Validation data of one's own, with the taste's split.
    _run(_snippet("Stopping early, and validation data of your own"), namespace)
    clf = namespace["clf"]
    assert clf.history_["val_loss"].notna().all()
    assert capsys.readouterr().out.count("\n") == 5  # 2 header lines + 3 rows


@pytest.mark.slow
def test_readme_transfer_search_runs(capsys):
    namespace = _run(_snippet("Transfer learning, cross-validated"), {})
    assert namespace["search"].best_score_ > 0.5  # 5 classes: chance is 0.2
    assert "keep_layers" in capsys.readouterr().out


def test_readme_check_estimator_snippet_passes():
    namespace = _run(_snippet("scikit-learn's estimator checks"), {})
    assert namespace["expected_failed_checks"](namespace["net"])


def test_readme_quick_start_shows_the_demo_and_the_test_command():
    text = README.read_text(encoding="utf-8")
    assert "&& python -m skdeep demo" in text
    marked = text.split("<!-- test-command -->", 1)[1]
    assert "pytest" in marked.split("```")[1]
