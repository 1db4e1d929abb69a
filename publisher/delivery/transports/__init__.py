"""Transports hand one message to a relay or an ESP; each is one small module behind base.py."""
