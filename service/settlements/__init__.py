"""Settlement (结算): pre-settlement, one-stop settlement, reversal, the year's accumulators and
the printable slip. The money comes from the pure engine in service.policy; this package adds
the database, the locking and the idempotency around it."""
