"""Telegram bot: talks to officials and hands their questions to `knowledge` (issue 3 builds it)."""
