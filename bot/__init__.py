"""The Telegram bot: talks to officials, hands questions to `knowledge` and office work to `office`,
formats the results as Telegram HTML and sends them through one sending path."""
