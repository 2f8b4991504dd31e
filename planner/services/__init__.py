"""Domain services: they own transactions and state transitions, and write the audit log."""
