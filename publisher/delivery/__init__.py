"""Delivery: the subscriber ledger, tokens, and (from the send issue) journals and transports."""
