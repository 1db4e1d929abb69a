"""Digests: the links layout (groups, compact items, related blocks) and one article once per email."""

# The pick rules `publish` stores in an issue (rules_version): 2 shows an article once per
# email. Issues published without it keep version 1, so their picks never change.
RULES_VERSION = 2
