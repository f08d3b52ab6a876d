"""Objectives and metrics for gradient boosting (LightGBM, XGBoost) computed
by floss: binary focal loss, multi-class focal loss and class-balanced
cross-entropy, with the prior init score to start from.

    from floss import gbdt
    obj = gbdt.binary_focal(gamma=2.0)                  # no alpha (see below)
    init = obj.init_score(y)                           # prior log-odds, per row

    # LightGBM, native API (objective in params) and scikit-learn API
    booster = lightgbm.train({"objective": obj.lightgbm, ...},
                             lightgbm.Dataset(X, y, init_score=init))
    clf = lightgbm.LGBMClassifier(objective=obj.lightgbm_sklearn).fit(X, y, init_score=init)

    # XGBoost, native API (obj=) and scikit-learn API
    booster = xgboost.train(params, xgboost.DMatrix(X, y, base_margin=init), obj=obj.xgboost)
    clf = xgboost.XGBClassifier(objective=obj.xgboost_sklearn).fit(X, y, base_margin=init)

Margins (raw scores) go in; gradients and Hessian diagonals with respect to
them come out, in the layout each library uses: binary (n,); multi-class
(n, c) for LightGBM >= 4 and XGBoost, and the flat class-major (n * c,)
arrays of LightGBM 3 (recognised by shape, returned in kind). Predictions of
a model trained with these objectives are margins: apply the sigmoid
(softmax) yourself, or use :meth:`Objective.probabilities`.

Choices, and why:

- Per-sample derivatives: floss runs with reduction NONE, so each row's
  gradient depends on that row only. Sample weights multiply them. The
  same objective therefore gives the same numbers on a shard of the data
  (Dask workers, one process per partition) as on the whole.
- Hessian: FISHER by default (``hessian='fisher'``), the expected Hessian,
  positive by construction; the focal loss's exact Hessian is negative for
  badly misclassified samples (t = 1, gamma = 2: p < 0.058), which is where
  a rare class starts from its prior, and a floor there turns -g/h into huge
  steps (floss.h, FLOSS_HESSIAN_FISHER). For cross-entropy losses it is the
  exact Hessian.
- alpha: none by default. The binary focal loss's customary alpha = 0.25
  (Lin et al., object detection) weights the positive class DOWN, by 1/3
  against the negatives; with a rare positive class that is rarely what you
  want. Pass ``alpha=`` explicitly, e.g. :func:`balanced_alpha`.
- Everything that depends on the whole training set (alpha from class
  counts, the prior) is computed once, from the labels you give, never
  from the rows of one call.
"""

import numpy as np

import floss

__all__ = [
    "Objective", "binary_focal", "multiclass_focal", "balanced_cross_entropy",
    "balanced_alpha", "prior_init_score",
]


def balanced_alpha(labels, n_classes=None):
    """Inverse-frequency class weights n / (c n_k) of integer `labels`
    (scikit-learn's 'balanced'). With ``n_classes=None`` and labels in
    {0, 1} it returns the binary focal loss's alpha, n_0 / n: the weight of
    the positive class in alpha t + (1 - alpha)(1 - t), which gives the two
    classes the same total weight."""
    y = np.asarray(labels).astype(np.int64).ravel()
    if n_classes is None:
        if y.size and (y.min() < 0 or y.max() > 1):
            raise ValueError("floss.gbdt.balanced_alpha: binary labels must be 0 or 1 "
                             "(pass n_classes for multi-class labels)")
        return float(np.mean(y == 0)) if y.size else 0.5
    return np.asarray(floss.class_weights(y, n_classes), dtype=np.float64)


def prior_init_score(labels, n_classes=None, weight=None):
    """The prior init score of every row: the (weighted) class-prior log-odds
    (binary, shape (n,)) or log-priors (``n_classes`` >= 2 with softmax
    models, shape (n, c)); see floss.h ``floss_prior_log_odds_f64`` and
    ``floss_prior_log_probs_f64`` for the rule for an absent class."""
    y = np.asarray(labels)
    n = y.shape[0]
    if n_classes is None:
        score = floss.prior_log_odds(np.asarray(y, dtype=np.float64).ravel(),
                                     None if weight is None else np.asarray(weight, np.float64))
        return np.full(n, score)
    scores = floss.prior_log_probs(np.asarray(y).astype(np.int64).ravel(), n_classes,
                                   None if weight is None else np.asarray(weight, np.float64))
    return np.tile(np.asarray(scores), (n, 1))


class Objective:
    """A floss loss as gradient-boosting objective and metric.

    Built by :func:`binary_focal`, :func:`multiclass_focal` or
    :func:`balanced_cross_entropy`. ``n_classes`` is None for binary
    (sigmoid) models, c >= 2 for softmax models.
    """

    def __init__(self, name, n_classes, loss, hessian):
        self.name = name
        self.n_classes = n_classes
        self._loss = loss          # (labels, margins (n,) or (n, c), **kw) -> floss result
        self.hessian = hessian

    # ------------------------------------------------------------- core --

    def _margins(self, labels, margins):
        """(margins as float64 of shape (n,) or (n, c), function restoring the
        caller's layout)."""
        m = np.asarray(margins, dtype=np.float64)
        if self.n_classes is None:
            return m.ravel(), lambda a: a.reshape(np.shape(margins))
        c = self.n_classes
        n = np.asarray(labels).shape[0]
        if m.ndim == 2:
            if m.shape != (n, c):
                raise ValueError("floss.gbdt: margins of shape %s, expected (%d, %d)"
                                 % (m.shape, n, c))
            return m, lambda a: a
        if m.size != n * c:
            raise ValueError("floss.gbdt: %d margins for %d rows of %d classes" % (m.size, n, c))
        # LightGBM 3 passes flat class-major scores (column j of the
        # margins is m[j * n:(j + 1) * n]).
        return m.reshape(c, n).T, lambda a: np.ascontiguousarray(a.T).ravel()

    def grad_hess(self, labels, margins, weight=None):
        """Gradient and Hessian diagonal of each row's loss with respect to
        its margins, in the layout of `margins`; times `weight` (one per row)
        if given."""
        m, restore = self._margins(labels, margins)
        _, grad, hess = self._loss(labels, m, reduction="none", grad=True, hess=True,
                                   hessian=self.hessian)
        if weight is not None and np.size(weight):
            w = np.asarray(weight, dtype=np.float64)
            w = w[:, None] if grad.ndim == 2 else w
            grad, hess = grad * w, hess * w
        return restore(grad), restore(hess)

    def loss(self, labels, margins, weight=None):
        """The (weighted) mean loss of the rows: the evaluation metric."""
        m, _ = self._margins(labels, margins)
        values = self._loss(labels, m, reduction="none")
        if weight is not None and np.size(weight):
            return float(np.average(values, weights=np.asarray(weight, dtype=np.float64)))
        return float(np.mean(values))

    def init_score(self, labels, weight=None):
        """The prior init score of every row (:func:`prior_init_score`)."""
        return prior_init_score(labels, self.n_classes, weight)

    def probabilities(self, margins):
        """Sigmoid (binary) or softmax (multi-class) of the margins."""
        m = np.asarray(margins, dtype=np.float64)
        if self.n_classes is None:
            return 0.5 * (1.0 + np.tanh(0.5 * m))
        m = m - m.max(axis=1, keepdims=True)
        e = np.exp(m)
        return e / e.sum(axis=1, keepdims=True)

    # ------------------------------------------------------------ LightGBM --

    def lightgbm(self, preds, train_data):
        """``lightgbm.train(params={'objective': obj.lightgbm})`` (and the
        ``fobj`` argument of LightGBM 3)."""
        return self.grad_hess(train_data.get_label(), preds, train_data.get_weight())

    def lightgbm_sklearn(self, y_true, y_pred, weight):
        """``lightgbm.LGBMClassifier(objective=obj.lightgbm_sklearn)``."""
        return self.grad_hess(y_true, y_pred, weight)

    def lightgbm_metric(self, preds, eval_data):
        """``lightgbm.train(feval=obj.lightgbm_metric)``: (name, mean loss,
        False)."""
        return self.name, self.loss(eval_data.get_label(), preds, eval_data.get_weight()), False

    def lightgbm_sklearn_metric(self, y_true, y_pred, weight):
        """``LGBMClassifier.fit(eval_metric=obj.lightgbm_sklearn_metric)``."""
        return self.name, self.loss(y_true, y_pred, weight), False

    # ------------------------------------------------------------- XGBoost --

    def xgboost(self, predt, dtrain):
        """``xgboost.train(params, dtrain, obj=obj.xgboost)``."""
        return self.grad_hess(dtrain.get_label(), predt, dtrain.get_weight())

    def xgboost_sklearn(self, y_true, y_pred, sample_weight=None):
        """``xgboost.XGBClassifier(objective=obj.xgboost_sklearn)``."""
        return self.grad_hess(y_true, y_pred, sample_weight)

    def xgboost_metric(self, predt, dmatrix):
        """``xgboost.train(custom_metric=obj.xgboost_metric)``: (name, mean
        loss); margins, so pass ``disable_default_eval_metric=1``."""
        return self.name, self.loss(dmatrix.get_label(), predt, dmatrix.get_weight())

    def __repr__(self):
        return "floss.gbdt.Objective(%s, n_classes=%s, hessian=%r)" % (
            self.name, self.n_classes, self.hessian)


def _binary_labels(labels):
    y = np.asarray(labels, dtype=np.float64).ravel()
    return y


def _class_labels(labels):
    return np.asarray(labels).astype(np.int64).ravel()


def binary_focal(gamma=2.0, alpha=None, hessian="fisher"):
    """Binary focal loss alpha_t (1 - p_t)^gamma BCE on sigmoid margins.

    alpha: None (default: alpha_t = 1, no class weighting) or the weight of
    the positive class in [0, 1] (:func:`balanced_alpha` for n_0 / n).
    gamma = 0 with no alpha is binary cross-entropy (LightGBM 'binary',
    XGBoost 'binary:logistic'). Labels are 0/1 (soft targets in [0, 1] work).
    """
    a = None if alpha is None else float(alpha)

    def loss(labels, margins, **kw):
        return floss.binary_focal_loss(margins, _binary_labels(labels), alpha=a,
                                       gamma=float(gamma), logits=True, **kw)
    return Objective("focal_loss", None, loss, hessian)


def multiclass_focal(n_classes, gamma=2.0, alpha=None, hessian="fisher"):
    """Multi-class focal loss -alpha_y (1 - p_y)^gamma ln p_y on softmax
    margins (n, c); labels are class indices. alpha: None (all 1) or c class
    weights (:func:`balanced_alpha`)."""
    a = None if alpha is None else np.asarray(alpha, dtype=np.float64)
    if a is not None and a.shape != (n_classes,):
        raise ValueError("floss.gbdt.multiclass_focal: alpha needs %d weights" % n_classes)

    def loss(labels, margins, **kw):
        return floss.focal_loss(margins, _class_labels(labels), alpha=a, gamma=float(gamma),
                                logits=True, **kw)
    return Objective("focal_loss", n_classes, loss, hessian)


def balanced_cross_entropy(labels=None, n_classes=None, alpha=None, hessian="fisher"):
    """Class-balanced cross-entropy, each class weighted by alpha_k.

    alpha: the class weights, or None for the inverse class frequency
    n / (c n_k) of `labels` (the whole training set, computed once here so
    that every shard of the data gets the same weights). n_classes: None
    for a binary (sigmoid) model, with alpha = (w_0, w_1): L = w_1 t (-ln p)
    + w_0 (1 - t)(-ln(1 - p)); else c for a softmax model. Convex: the
    Hessian is exact in every mode.
    """
    c = 2 if n_classes is None else n_classes
    if alpha is None:
        if labels is None:
            raise ValueError("floss.gbdt.balanced_cross_entropy: give alpha or the "
                             "training labels to compute it from")
        alpha = floss.class_weights(_class_labels(labels), c)
    w = np.asarray(alpha, dtype=np.float64)
    if w.shape != (c,) or not np.all(np.isfinite(w)) or np.any(w < 0):
        raise ValueError("floss.gbdt.balanced_cross_entropy: alpha must be %d finite "
                         "weights >= 0" % c)
    if n_classes is None:
        if w[0] <= 0 or w[1] <= 0:
            raise ValueError("floss.gbdt.balanced_cross_entropy: binary weights must be > 0")
        w0, pos_weight = float(w[0]), float(w[1] / w[0])

        def loss(labels, margins, **kw):
            # w_0 (pos_weight t (-ln p) + (1 - t)(-ln(1 - p))).
            result = floss.binary_cross_entropy(margins, _binary_labels(labels),
                                                pos_weight=pos_weight, logits=True, **kw)
            if isinstance(result, tuple):
                return tuple(None if r is None else w0 * r for r in result)
            return w0 * result
        return Objective("balanced_cross_entropy", None, loss, hessian)

    def multi_loss(labels, margins, **kw):
        return floss.balanced_cross_entropy(margins, _class_labels(labels), alpha=w,
                                            logits=True, **kw)
    return Objective("balanced_cross_entropy", c, multi_loss, hessian)
