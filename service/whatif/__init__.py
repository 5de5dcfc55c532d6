"""What-if (政策测算): a period's stored settlements re-settled under a proposed policy."""
