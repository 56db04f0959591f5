"""The registered models on the wire (``GET /v1/admin/models``)."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from banktwin.api.schemas import Public


class TrainingWindowPublic(Public):
    start: datetime = Field(description="The first training row's time.")
    end: datetime = Field(description="The end of the training rows (exclusive).")


class ModelVersionPublic(Public):
    version: int = Field(examples=[3])
    aliases: list[str] = Field(examples=[["champion"]])
    champion: bool = Field(description="This version serves (the `champion` alias).")
    flavor: str = Field(description="What the artifact is.", examples=["lightgbm"])
    metrics: dict[str, float | None] = Field(
        description="Quality measured at training time (validation average precision, ROC "
        "AUC, holdout figures …); null where it could not be measured (not a number)."
    )
    params: dict[str, str | int | float] = Field(description="Training parameters.")
    feature_count: int = Field(description="How many inputs the model takes.")
    training_window: TrainingWindowPublic
    data_hash: str = Field(description="A hash of the training rows and labels.")
    description: str
    created_at: datetime = Field(description="When the version was registered.")


class RegisteredModelPublic(Public):
    name: str = Field(examples=["FraudScore"])
    champion: int | None = Field(description="The version that serves (null: none yet).")
    version_count: int = Field(description="Versions registered in all.")
    versions: list[ModelVersionPublic] = Field(
        description="The newest `limit` versions, newest first."
    )


class ModelsPublic(Public):
    registry: bool = Field(
        description="Whether a registry exists (false: no model was ever registered on this "
        "deployment's embedded store)."
    )
    models: list[RegisteredModelPublic]
