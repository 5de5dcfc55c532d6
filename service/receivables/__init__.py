"""The patient's share under pay-after-treatment (先诊疗后付费): receivables, payments,
instalments, reminders and defaulter marks."""
