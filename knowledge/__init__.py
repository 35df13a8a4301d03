"""Knowledge core: the index of legal clauses, retrieval, and clause-cited answers (no Telegram here)."""
