"""Delivery: channels (apprise, Twilio, console) and the outbox that records every send."""
