"""The README's code runs as printed."""

import re
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_taste_runs_and_scores_well(capsys):
    text = README.read_text(encoding="utf-8")
    snippet = re.search(r"## A taste\s+```python\n(.*?)```", text, re.S).group(1)
    exec(compile(snippet, str(README), "exec"), {})
    printed = capsys.readouterr().out
    accuracy = float(printed.splitlines()[0])
    assert accuracy > 0.95
    assert "Total params" in printed
    assert "val_loss" in printed


def test_readme_quick_start_shows_the_demo_and_the_test_command():
    text = README.read_text(encoding="utf-8")
    assert "&& python -m skdeep demo" in text
    marked = text.split("<!-- test-command -->", 1)[1]
    assert "pytest" in marked.split("```")[1]
