"""Digests: the links layout (groups, compact items, related blocks) and one article once per email."""
