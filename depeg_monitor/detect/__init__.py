"""Detection: many venues' quotes → one price per coin (aggregate) → how bad (classify)."""
