"""Link checks before sending: duplicates of recent issues, dead links, placeholders."""
