"""Matchmaking sessions: planning, invitations, availability, agendas (page, print, iCalendar), outcomes, summaries."""
