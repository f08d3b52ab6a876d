"""Focal loss and class-balanced cross-entropy as LightGBM and XGBoost
objectives (floss.gbdt), against each library's built-in objective, on a
seeded imbalanced problem (about 1.5% positives). Prints the rare class's
average precision on a held-out set, and what a floored Hessian does.

    make lib
    PYTHONPATH=python python3 examples/python/gbdt_focal.py

Needs numpy, scikit-learn, lightgbm and xgboost.
"""

import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "python"))

import lightgbm as lgb  # noqa: E402
import numpy as np  # noqa: E402
import xgboost as xgb  # noqa: E402
from sklearn.datasets import make_classification  # noqa: E402
from sklearn.metrics import average_precision_score  # noqa: E402

from floss import gbdt  # noqa: E402

ROUNDS = 100
X, y = make_classification(n_samples=14000, n_features=20, n_informative=8, n_redundant=4,
                           weights=[0.985], flip_y=0.005, class_sep=0.8, random_state=0)
X, y, Xt, yt = X[:4000], y[:4000], X[4000:], y[4000:]


def lightgbm_margins(obj):
    params = dict(learning_rate=0.05, num_leaves=15, min_data_in_leaf=20, verbose=-1,
                  num_threads=2, seed=0, deterministic=True, force_row_wise=True)
    if obj is None:
        booster = lgb.train(dict(params, objective="binary"), lgb.Dataset(X, y), ROUNDS)
        return booster.predict(Xt, raw_score=True)
    init = obj.init_score(y)                       # the prior log-odds
    booster = lgb.train(dict(params, objective=obj.lightgbm),
                        lgb.Dataset(X, y, init_score=init), ROUNDS)
    return booster.predict(Xt, raw_score=True) + init[0]


def xgboost_margins(obj):
    # min_child_weight is a Hessian sum: the focal loss's Hessians are
    # (1 - p_t)^gamma times cross-entropy's, so XGBoost's default of 1
    # would stop every split.
    params = dict(eta=0.05, max_depth=4, tree_method="hist", nthread=2, seed=0,
                  min_child_weight=1e-3)
    if obj is None:
        booster = xgb.train(dict(params, objective="binary:logistic"), xgb.DMatrix(X, y), ROUNDS)
        return booster.predict(xgb.DMatrix(Xt), output_margin=True)
    init = obj.init_score(y)
    booster = xgb.train(dict(params, disable_default_eval_metric=1),
                        xgb.DMatrix(X, y, base_margin=init), ROUNDS, obj=obj.xgboost)
    return booster.predict(xgb.DMatrix(Xt, base_margin=np.full(len(Xt), init[0])),
                           output_margin=True)


print("floss.gbdt: %d training rows (%d positive), %d test rows (%d positive), %d rounds"
      % (len(y), y.sum(), len(yt), yt.sum(), ROUNDS))
print("%-10s %-36s %8s %12s %8s" % ("library", "objective", "AP", "max |margin|", "seconds"))
objectives = [
    ("built-in", None),
    ("floss focal gamma=2 (Fisher Hessian)", gbdt.binary_focal(gamma=2.0)),
    ("floss focal gamma=1 (Fisher Hessian)", gbdt.binary_focal(gamma=1.0)),
    ("floss balanced cross-entropy", gbdt.balanced_cross_entropy(y)),
    ("floss focal gamma=2, max(h, 1e-6)", gbdt.binary_focal(gamma=2.0, hessian="floor")),
]
for library, margins_of in (("LightGBM", lightgbm_margins), ("XGBoost", xgboost_margins)):
    for name, obj in objectives:
        start = time.perf_counter()
        margins = margins_of(obj)
        seconds = time.perf_counter() - start
        ap = average_precision_score(yt, margins)
        print("%-10s %-36s %8.3f %12.1f %8.2f"
              % (library, name, ap, np.abs(margins).max(), seconds))
