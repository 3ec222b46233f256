"""The outbox: Slack calls queued in the database, sent by a worker that never drops one."""
