"""Offerings: the programmes partner organisations run."""
