"""depeg-monitor: watch stablecoin pegs across exchanges and wake the right person."""

__version__ = "0.1.0"
