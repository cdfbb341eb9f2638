"""The data model, one module per aggregate; importing this package registers every table."""
from matchmaker.models.accounts import AccountLink, FormSubmission, LoginAttempt, User, UserSession
from matchmaker.models.audit import AuditEvent
from matchmaker.models.matches import Match, MatchingRun, Notification
from matchmaker.models.members import Member, Organisation
from matchmaker.models.needs import Need
from matchmaker.models.offerings import Offering
from matchmaker.models.reports import ReportEdition
from matchmaker.models.sessions import MatchmakingSession, SessionAvailability, SessionMeeting
from matchmaker.models.tokens import ApiToken, ImportUpload

__all__ = ["AccountLink", "ApiToken", "AuditEvent", "FormSubmission", "ImportUpload", "LoginAttempt", "Match",
           "MatchingRun", "Member", "MatchmakingSession", "Need", "Notification", "Offering", "Organisation",
           "ReportEdition", "SessionAvailability", "SessionMeeting", "User", "UserSession"]
