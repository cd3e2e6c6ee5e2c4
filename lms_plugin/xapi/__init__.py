"""Learning records (xAPI 1.0.3): statements built by ``exports.xapi`` are queued in the outbox in the same
transaction as their cause (``store.queue_statement``), and ``sender.LrsSender`` delivers them in batches to the
Learning Record Store that ``lrs.LrsDirectory`` names for their platform."""
