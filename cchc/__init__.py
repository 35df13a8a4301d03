"""The `cchc` command line: the one place that wires ingest, knowledge and the bot together."""
