"""Subscriber statuses (a module of its own so the CLI can name them without loading SQLAlchemy)."""

STATUSES = ("unconfirmed", "confirmed", "unsubscribed", "bounced", "complained")
# Statuses an import or the CLI never turns back into "confirmed": only the person can, by the form.
SUPPRESSED_STATUSES = frozenset({"unsubscribed", "bounced", "complained"})
CONSENT_METHODS = ("import", "form", "cli")
