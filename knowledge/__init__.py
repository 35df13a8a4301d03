"""The legal core: clause records and labels, Vietnamese text handling, the SQLite clause store, the
hybrid index (Chroma + BM25), retrieval and clause-cited answers. No Telegram and no town office here."""
