"""TA Matchmaker matching engine."""
