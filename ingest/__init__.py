"""Ingest: read legal texts, recover their structure, and hand clauses to the knowledge index."""
