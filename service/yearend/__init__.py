"""The year-end top-up (二次救助 / 年度补足) booked over a person's plan year (ADR 0021)."""
