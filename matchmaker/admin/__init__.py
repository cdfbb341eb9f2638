"""Administration: users, organisations, members and the audit log."""
