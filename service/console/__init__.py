"""The auditors' web console: server-rendered pages over the ledger, scoreboard and indicators."""
