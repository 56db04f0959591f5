"""The risk engine's consumer name, importable without the engine (pandas, the model)."""

from typing import Final

RISK_CONSUMER: Final = "risk"
