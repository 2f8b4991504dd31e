"""The dispatcher: clock, claim, send, record."""
