"""The `cchc` command line: the one place that wires ingest, knowledge, the town office and the bot together."""
