"""The broker, split by concern: partition logs, durability, idempotence, limits, the log and
queue stores, the consumer group and its assignors."""
