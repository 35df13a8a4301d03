"""What the tests and the benches share, and the assistant does not ship: the Telegram Bot API stand-in
(`botapi`) and a bot running against it, with officials and helpers to talk to it (`bot_harness`)."""
