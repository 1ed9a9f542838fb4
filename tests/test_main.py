"""The command line: `python -m skdeep demo` and `--help`."""

import subprocess
import sys

import pytest

from skdeep.__main__ import main


def test_help_lists_the_demo_command():
    result = subprocess.run(
        [sys.executable, "-m", "skdeep", "--help"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "demo" in result.stdout
    assert "usage: python -m skdeep" in result.stdout


@pytest.mark.slow
def test_quick_demo_reports_and_writes_plots(tmp_path, capsys):
    out = tmp_path / "plots"
    assert main(["demo", "--quick", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    for expected in [
        "positive class = malignant",
        "sensitivity",
        "specificity",
        "PerceptronClassifier",
        "LogisticGD",
        "MLPNetClassifier (searched)",
        "held-out accuracy",
        "Total params",
    ]:
        assert expected in printed
    written = sorted(path.name for path in out.glob("*.png"))
    assert written == [
        "cancer_confusion_matrix.png",
        "cancer_mlp_history.png",
        "cancer_search_rounds.png",
        "digits_augmentation.png",
        "digits_conv_filters.png",
        "digits_convnet_history.png",
        "digits_feature_maps.png",
    ]
    assert all(path.stat().st_size > 5_000 for path in out.glob("*.png"))
