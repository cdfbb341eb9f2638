"""Signing in and out, invitations, password resets and the account page."""
