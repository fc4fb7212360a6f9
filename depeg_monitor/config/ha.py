"""Settings for running two monitors as an active/standby pair on one PostgreSQL database."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator


class HaSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    enabled: bool = False  # true: a lease in the database decides which node sends
    # This node's name in the lease; "" means the host name. Each node needs its own.
    node: str = Field("", max_length=128)
    lease_ttl: float = Field(10.0, gt=0, description="A lease lasts this long after renewal.")
    renew_interval: float = Field(2.0, gt=0, description="The leader renews, a standby asks.")
    # The leader stops sending this long before its lease would expire unless renewed, so a
    # leader cut off from the database is quiet before anyone else may take over.
    margin: float = Field(3.0, gt=0)

    @model_validator(mode="after")
    def _renewal_fits(self) -> HaSettings:
        if self.renew_interval + self.margin >= self.lease_ttl:
            raise ValueError(
                f"lease_ttl ({self.lease_ttl:g}) must exceed renew_interval + margin "
                f"({self.renew_interval:g} + {self.margin:g}): a healthy leader must renew "
                "before it has to stop sending"
            )
        return self
