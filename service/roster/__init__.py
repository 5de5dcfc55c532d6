"""The roster snapshot (名单快照): the offices' pushed roster, imported whole and swapped in
atomically, that answers when the registry cannot."""
