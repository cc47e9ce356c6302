"""
Choosing a generative clustering model without labels
=====================================================

:class:`~skdeepcluster.VariationalClustering` has
:meth:`~skdeepcluster.VariationalClustering.score`: the mean evidence lower
bound (ELBO) of the data, a lower bound on their log-likelihood under the
model.  Like :class:`sklearn.mixture.GaussianMixture`, it can therefore be
tuned by :class:`~sklearn.model_selection.GridSearchCV` *without labels*:
each candidate is fitted on part of the data and scored by the ELBO of the
held-out part, and the search keeps the best.

Here the grid compares sizes of the continuous code ``z`` on
scikit-learn's digits, with few epochs so the search runs in about a
minute on two CPU cores (52 s in the documentation's build, 2026-12-06).
The labels are used only afterwards, to show how the chosen model clusters.
"""

import matplotlib.pyplot as plt
from sklearn.datasets import load_digits
from sklearn.model_selection import GridSearchCV, KFold

from skdeepcluster import VariationalClustering
from skdeepcluster.metrics import cluster_accuracy

digits = load_digits()
X, y = digits.images, digits.target

search = GridSearchCV(
    VariationalClustering(n_clusters=10, max_epochs=30, random_state=0),
    {"latent_dim": [2, 8, 32]},
    cv=KFold(3, shuffle=True, random_state=0),
)
search.fit(X)  # no y: the score is the held-out ELBO

results = search.cv_results_
dims = list(results["param_latent_dim"])
for dim, mean, std in zip(dims, results["mean_test_score"], results["std_test_score"]):
    print(f"latent_dim={dim:>2}: held-out ELBO {mean:.2f} +- {std:.2f} nats per image")
print("chosen:", search.best_params_)
print(
    f"its accuracy on all digits (labels used only here): "
    f"{cluster_accuracy(y, search.best_estimator_.predict(X)):.3f}"
)

fig, ax = plt.subplots(figsize=(5, 3.5))
ax.errorbar(dims, results["mean_test_score"], yerr=results["std_test_score"], marker="o", capsize=3)
ax.set_xscale("log", base=2)
ax.set_xlabel("latent_dim")
ax.set_ylabel("held-out ELBO (nats per image)")
ax.set_title("GridSearchCV by score(X)")
plt.tight_layout()
plt.show()
