"""What every package stands on: the settings of config.yaml, the SQLite connection, the record base class.

Nothing here knows about legal texts, the town office or Telegram, so `knowledge`, `office`, `ingest`
and `bot` can all import it.
"""
