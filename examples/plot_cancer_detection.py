"""
=================================================================
Cancer detection: coarse-to-fine search, sensitivity, specificity
=================================================================

The notes end (四) with a diagnostic test: a model that reads measurements of
a breast tumour and says *malignant* or *benign*. Accuracy is not the right
yardstick for such a test; the notes judge it by two rates:

- **sensitivity** -- of all the patients who *have* cancer, how many does the
  test find? ``TP / (TP + FN)``, the same number as the recall;
- **specificity** -- of all the patients who do *not* have cancer, how many does
  it clear? ``TN / (TN + FP)``, which is *not* the precision
  ``TP / (TP + FP)``.

To get a good network we first tune its hyperparameters the way the notes
recommend (二.12): sample them at random from wide ranges, train briefly,
narrow the ranges around the best candidates, and repeat --
:class:`~skdeep.CoarseToFineSearchCV`. Then we pick the test's operating point
the way a screening programme does: the threshold with the best sensitivity at
a fixed specificity.
"""

# %%
# The data
# --------
# scikit-learn's Wisconsin breast-cancer data: 30 measurements of the cell
# nuclei in 569 tumour images, 212 of them malignant. We name the classes (in
# the raw data, 0 is malignant) and keep a quarter of the patients aside as a
# test set, used once at the end.
import warnings

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_breast_cancer
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split

data = load_breast_cancer()
X, y = data.data, data.target_names[data.target]  # "malignant" / "benign"
X_train, X_test, y_train, y_test = train_test_split(
    X, y, test_size=0.25, stratify=y, random_state=0
)
print(f"training: {len(y_train)} patients, test: {len(y_test)} patients")

# Coarse rounds train for a few epochs on purpose.
warnings.filterwarnings("ignore", category=ConvergenceWarning)

# %%
# Coarse-to-fine random search
# ----------------------------
# The notes' recipe (二.12):
#
# 1. set rough ranges for the hyperparameters -- here the learning rate and the
#    L2 penalty, both over several orders of magnitude, and the layer sizes;
# 2. sample candidates at random from the ranges;
# 3. train each for a few epochs only and score it on *validation* data (never
#    on the test data, or the hyperparameters would be fitted to it);
# 4. narrow the ranges around the best candidates, and repeat.
#
# ``coarse_params`` sets the short training of every round but the last;
# ``cv=None`` scores each candidate on one stratified validation split. We
# score by balanced accuracy, which for two classes is the mean of the
# sensitivity and the specificity.
from scipy.stats import loguniform
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skdeep import CoarseToFineSearchCV, MLPNetClassifier

pipeline = make_pipeline(
    StandardScaler(), MLPNetClassifier(max_iter=100, random_state=0)
)
search = CoarseToFineSearchCV(
    pipeline,
    {
        "mlpnetclassifier__learning_rate": loguniform(1e-4, 1e-1),
        "mlpnetclassifier__alpha": loguniform(1e-6, 1e0),
        "mlpnetclassifier__hidden_layer_sizes": [(8,), (32,), (64, 32)],
    },
    n_iter=10,
    n_rounds=3,
    coarse_params={"mlpnetclassifier__max_iter": 10},
    scoring="balanced_accuracy",
    random_state=0,
).fit(X_train, y_train)

for r, distributions in enumerate(search.rounds_):
    low, high = distributions["mlpnetclassifier__learning_rate"].support()
    sizes = distributions["mlpnetclassifier__hidden_layer_sizes"]
    print(f"round {r}: learning_rate in [{low:.2g}, {high:.2g}], sizes {sizes}")
print("best:", search.best_params_)
print(f"best validation balanced accuracy: {search.best_score_:.3f}")

# %%
# :class:`~skdeep.plotting.SearchRoundsDisplay` plots each candidate's
# validation score against each hyperparameter, coloured by round; the bands
# at the bottom are the ranges each round sampled from, narrowing round after
# round. Coarse-round scores come from 10-epoch trainings, so the last round,
# trained in full, scores higher; its best candidate (the star) is refit on
# all the training data.
from skdeep.plotting import SearchRoundsDisplay

SearchRoundsDisplay.from_estimator(search)
plt.show()

# %%
# Sensitivity and specificity on the test set
# -------------------------------------------
# :class:`~skdeep.plotting.SensitivitySpecificityDisplay` draws the confusion
# matrix of the test patients with ``malignant`` as the positive class. As in
# the notes, sensitivity and specificity are read along the *rows* (the true
# condition): the malignant row gives the sensitivity, the benign row the
# specificity.
from skdeep.plotting import SensitivitySpecificityDisplay

SensitivitySpecificityDisplay.from_estimator(
    search, X_test, y_test, pos_label="malignant"
)
plt.show()

# %%
# :func:`skdeep.metrics.sensitivity_specificity_report` gives the counts and
# rates of each class taken as the positive one. For ``malignant``, the
# sensitivity equals the recall, but the specificity differs from the
# precision: one asks how many healthy patients were cleared, the other how
# many positive diagnoses were right.
from skdeep.metrics import sensitivity_specificity_report

y_pred = search.predict(X_test)
print(sensitivity_specificity_report(y_test, y_pred).round(3))

# %%
# Trading specificity for sensitivity
# -----------------------------------
# A missed cancer (false negative) costs far more than a false alarm (false
# positive), which further tests will clear. The network outputs a probability
# of malignancy, and ``predict`` calls a tumour malignant above 0.5; lowering
# that threshold finds more cancers at the price of more false alarms. The two
# rates move in opposite directions.
from skdeep.metrics import sensitivity_score, specificity_score

malignant = list(search.classes_).index("malignant")
p_malignant = search.predict_proba(X_test)[:, malignant]
thresholds = np.linspace(0.02, 0.98, 49)
rates = {"sensitivity": [], "specificity": []}
for threshold in thresholds:
    predicted = np.where(p_malignant >= threshold, "malignant", "benign")
    rates["sensitivity"].append(
        sensitivity_score(y_test, predicted, pos_label="malignant")
    )
    rates["specificity"].append(
        specificity_score(y_test, predicted, pos_label="malignant")
    )

# %%
# Picking the operating point
# ---------------------------
# Doctors put the question the other way round: they fix the specificity the
# screen must keep -- here, clear at least 95% of the healthy patients -- and
# ask for the threshold that finds the most cancers at that specificity.
# :func:`skdeep.metrics.make_sensitivity_at_specificity_scorer` scores exactly
# that, and :class:`~sklearn.model_selection.TunedThresholdClassifierCV` picks
# the threshold with it. The threshold must come from validation data, not
# from the test set: the tuner refits the network on 5 folds of the training
# patients and, at each candidate threshold, scores the held-out fold by its
# sensitivity if its specificity reaches 0.95, and 0 if not.
from sklearn.model_selection import TunedThresholdClassifierCV

from skdeep.metrics import make_sensitivity_at_specificity_scorer

at_95 = make_sensitivity_at_specificity_scorer(0.95, pos_label="malignant")
tuned = TunedThresholdClassifierCV(search.best_estimator_, scoring=at_95, cv=5).fit(
    X_train, y_train
)
print(f"tuned threshold on P(malignant): {tuned.best_threshold_:.3f}")
print(f"validation sensitivity at specificity >= 0.95: {tuned.best_score_:.3f}")

for name, predicted in [
    ("predict, threshold 0.5", search.predict(X_test)),
    (f"tuned, threshold {tuned.best_threshold_:.2f}", tuned.predict(X_test)),
]:
    sensitivity = sensitivity_score(y_test, predicted, pos_label="malignant")
    specificity = specificity_score(y_test, predicted, pos_label="malignant")
    print(
        f"{name:24s} test sensitivity {sensitivity:.3f}, specificity {specificity:.3f}"
    )

# %%
# Applied to the test patients' probabilities, the same score gives the best
# that *any* threshold could have done there -- an optimistic bound, since it
# peeks at the test labels, against which to read the tuned threshold.
from skdeep.metrics import sensitivity_at_specificity_score

best_on_test = sensitivity_at_specificity_score(
    y_test, p_malignant, min_specificity=0.95, pos_label="malignant"
)
print(f"best test sensitivity at specificity >= 0.95: {best_on_test:.3f}")

# %%
# The two rates on the test patients at every threshold, with ``predict``'s
# threshold and the tuned one.
fig, ax = plt.subplots(figsize=(7, 3.8), layout="constrained")
for name, values in rates.items():
    ax.plot(thresholds, values, label=name)
ax.axhline(0.95, color="0.7", linewidth=0.8, label="required specificity, 0.95")
ax.axvline(0.5, color="0.5", linestyle=":", label="predict's threshold, 0.5")
ax.axvline(
    tuned.best_threshold_,
    color="C3",
    linestyle="--",
    label=f"tuned threshold, {tuned.best_threshold_:.2f}",
)
ax.set_xlabel("threshold on the probability of malignancy")
ax.set_ylabel("rate on the test patients")
ax.set_title("Lower thresholds find more cancers and clear fewer healthy patients")
ax.legend(fontsize="small")
plt.show()

# %%
# On the validation folds, the tuned threshold kept the specificity at 0.95 or
# more. On new patients it lands near the required line, on either side of it:
# a threshold picked at the edge of a constraint from a few hundred patients
# carries their sampling noise. A screen that must *guarantee* a specificity
# is tuned with a margin, e.g. ``make_sensitivity_at_specificity_scorer(0.97,
# pos_label="malignant")``, or on more validation data.
