"""The risk model: a customer's probability of a loss event, trained on any labelled table.

Training (:mod:`banktwin.risk.training`) cross-validates two candidates on the same folds,
logistic regression (the seed's choice) and gradient-boosted trees (LightGBM), keeps the
better one, calibrates it on its out-of-fold scores and fits it on every row. The result is a
:class:`~banktwin.risk.model.RiskModel` (predict, explain, bytes without pickle, a reference
of the training distribution for drift), released to the registry as ``RiskScore`` by
:func:`~banktwin.risk.release.release_risk_model`, which makes it champion only when it beats
the current one on the same holdout.

Nothing here imports numpy, pandas or LightGBM at package import: ``banktwin --help`` stays
quick. Import the modules themselves.
"""
