"""Matches: the facilitators' review queue, the match page, the parties' answers, and the inbox."""
