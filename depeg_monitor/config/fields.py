"""Field types shared by the settings models: lists the environment can spell as a,b,c."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BeforeValidator

SeverityLabel = Literal["minor", "major", "critical"]


def split_commas(v: Any) -> Any:
    """'USDC/USDT, FDUSD/USDT' → ['USDC/USDT', 'FDUSD/USDT']: the obvious way to write a list
    in an environment variable (a JSON list works too); anything but a string is left as is."""
    if isinstance(v, str):
        return [part.strip() for part in v.split(",") if part.strip()]
    return v


Names = Annotated[list[str], BeforeValidator(split_commas)]
Severities = Annotated[list[SeverityLabel], BeforeValidator(split_commas)]
FloatPair = Annotated[tuple[float, float], BeforeValidator(split_commas)]
