"""The town office: officials and their access, the task table and its reminders, announcements.

Everything here is SQLite (sqlite-utils) and plain Python: no Telegram, so the CLI and the tests use the
same functions the bot does. Tasks cite clauses of the legal core (`knowledge`) by their ids.
"""
