"""Domain operations: each takes the acting user, checks the rules, changes state, audits and flushes (never
commits)."""
