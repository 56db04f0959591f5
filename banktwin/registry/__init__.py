"""The model registry: versions of trained models, their cards, and the alias that serves.

The port is :mod:`banktwin.registry.port`; the adapter, MLflow
(:mod:`banktwin.registry.mlflow_registry`), is imported only when a registry is opened.
"""

from banktwin.registry.factory import open_model_registry, registry_exists
from banktwin.registry.port import (
    CHALLENGER,
    CHAMPION,
    FRAUD_MODEL,
    ModelCard,
    ModelRegistry,
    RegisteredVersion,
)

__all__ = [
    "CHALLENGER",
    "CHAMPION",
    "FRAUD_MODEL",
    "ModelCard",
    "ModelRegistry",
    "RegisteredVersion",
    "open_model_registry",
    "registry_exists",
]
