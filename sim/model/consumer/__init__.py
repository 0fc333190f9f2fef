"""The consumer: log-mode (group) and queue-mode consumption, and commit modes."""
