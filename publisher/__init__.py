"""publisher: curated articles into weekly newsletter issues, emails and feeds."""

__version__ = "0.1.0"
