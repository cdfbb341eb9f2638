"""Needs: what requesting members ask for."""
