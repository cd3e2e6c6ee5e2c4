"""The durable outbox: what the tool tells the outside world (gradebook scores, xAPI statements) is written
in the same transaction as its cause, then delivered by a worker that retries until the other side accepts
it — never fire-and-forget, never dropped."""
