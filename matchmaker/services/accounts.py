"""Accounts: invitations, passwords, sign-in with throttling, and server-side sessions."""
from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta, timezone
from functools import lru_cache

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app
from flask_babel import gettext as _
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import delete, func, select, text
from werkzeug.security import check_password_hash

from matchmaker.errors import DomainError, InvalidCredentials, LoginThrottled, NotPermitted
from matchmaker.extensions import db
from matchmaker.models import LoginAttempt, Member, Organisation, User, UserSession
from matchmaker.models.base import utcnow
from matchmaker.permissions import INVITABLE_ROLES
from matchmaker.services.audit import record

# A hash computed once, so that an unknown e-mail costs as much time as a wrong password.
_DUMMY_HASH: dict[str, str] = {}


def normalise_email(email: str) -> str:
    return email.strip().lower()


@lru_cache(maxsize=4)
def _argon2(memory_cost: int, time_cost: int, parallelism: int) -> PasswordHasher:
    return PasswordHasher(memory_cost=memory_cost, time_cost=time_cost, parallelism=parallelism, type=Type.ID)


def _hasher() -> PasswordHasher:
    return _argon2(**current_app.config["PASSWORD_ARGON2"])


def hash_password(password: str) -> str:
    """An Argon2id hash with the configured parameters (they are written in the hash)."""
    return _hasher().hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """Argon2id hashes, and the PBKDF2 (or scrypt) hashes of werkzeug that accounts made before still carry."""
    if not password_hash:
        return False
    if password_hash.startswith("$argon2"):
        try:
            return _hasher().verify(password_hash, password)
        except (VerificationError, InvalidHashError):
            return False
    if password_hash.startswith(("pbkdf2:", "scrypt:")):
        return check_password_hash(password_hash, password)
    return False


def needs_rehash(password_hash: str) -> bool:
    """True for a hash of another kind, or made with other parameters than the configured ones."""
    return not password_hash.startswith("$argon2id$") or _hasher().check_needs_rehash(password_hash)


def _fingerprint(user: User) -> str:
    # Changes when the password does, so every invitation or reset link works once.
    return hashlib.sha256((user.password_hash or "no-password").encode()).hexdigest()[:16]


def _serializer(purpose: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=f"matchmaker-{purpose}")


def make_token(user: User, purpose: str) -> str:
    return _serializer(purpose).dumps([user.id, _fingerprint(user)])


def user_from_token(token: str, purpose: str) -> User | None:
    """The user a valid, unexpired, unused token was made for, else None."""
    max_age = current_app.config["INVITE_MAX_AGE" if purpose == "invite" else "RESET_MAX_AGE"]
    try:
        user_id, fingerprint = _serializer(purpose).loads(token, max_age=max_age)
    except (BadSignature, SignatureExpired, ValueError, TypeError):
        return None
    user = db.session.get(User, user_id) if isinstance(user_id, int) else None
    if user is None or not user.active or _fingerprint(user) != fingerprint:
        return None
    return user


def link(path: str) -> str:
    """An absolute link built from the configured public address, never from the request's Host."""
    return current_app.config["BASE_URL"] + path


def invite_user(
    actor: User,
    *,
    email: str,
    name: str,
    role: str,
    language: str,
    member: Member | None = None,
    organisation: Organisation | None = None,
) -> User:
    """Create an account without a password; the invitee sets one through the invitation link."""
    if role not in INVITABLE_ROLES.get(actor.role, ()):
        raise NotPermitted(_("You may not invite a user with this role."))
    email = normalise_email(email)
    if db.session.scalar(select(User.id).where(User.email == email)) is not None:
        raise DomainError(_("An account with this e-mail address already exists."), field="email")
    if role == "delegate" and member is None:
        raise DomainError(_("A delegate must act for a member."), field="member")
    if role == "partner" and organisation is None:
        raise DomainError(_("A partner must act for an organisation."), field="organisation")
    user = User(
        email=email,
        name=name.strip(),
        role=role,
        language=language,
        member=member if role == "delegate" else None,
        organisation=organisation if role == "partner" else None,
        active=True,
    )
    db.session.add(user)
    db.session.flush()
    record(actor, "user.invited", user, role=role)
    return user


def set_password(user: User, password: str, actor: User | None = None, action: str = "user.password_set") -> None:
    """Store a new password hash and end every session the user had."""
    user.password_hash = hash_password(password)
    user.password_changed_at = utcnow()
    end_all_sessions(user)
    record(actor or user, action, user)


def update_user(actor: User, user: User, *, role: str, active: bool, member: Member | None,
                organisation: Organisation | None, name: str, language: str) -> None:
    """An admin changes a user's role, affiliation or active flag."""
    if user.id == actor.id and (not active or role != "admin"):
        raise DomainError(_("You cannot demote or disable your own account."))
    if role == "delegate" and member is None:
        raise DomainError(_("A delegate must act for a member."), field="member")
    if role == "partner" and organisation is None:
        raise DomainError(_("A partner must act for an organisation."), field="organisation")
    changes = {}
    for field, value in (("role", role), ("active", active), ("name", name.strip()), ("language", language)):
        if getattr(user, field) != value:
            changes[field] = [getattr(user, field), value]
            setattr(user, field, value)
    user.member = member if role == "delegate" else None
    user.organisation = organisation if role == "partner" else None
    if not active:
        end_all_sessions(user)
    record(actor, "user.updated", user, **changes)


def _throttle_lock(email: str) -> None:
    """Serialise sign-ins for one account across workers (PostgreSQL; SQLite's BEGIN IMMEDIATE does it there)."""
    if db.session.get_bind().dialect.name == "postgresql":
        key = int.from_bytes(hashlib.sha256(email.encode()).digest()[:8], "big", signed=True)
        db.session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})


def authenticate(email: str, password: str, address: str) -> User:
    """Check a sign-in; failures are recorded (caller commits) and too many of them refuse further tries."""
    config = current_app.config
    email = normalise_email(email)[:254]
    address = (address or "unknown")[:64]
    _throttle_lock(email)
    since = utcnow() - timedelta(seconds=config["LOGIN_WINDOW_SECONDS"])
    by_account = db.session.scalar(
        select(func.count(LoginAttempt.id)).where(LoginAttempt.email == email, LoginAttempt.at >= since)
    )
    by_address = db.session.scalar(
        select(func.count(LoginAttempt.id)).where(LoginAttempt.address == address, LoginAttempt.at >= since)
    )
    if by_account >= config["LOGIN_MAX_FAILURES_PER_ACCOUNT"] or by_address >= config["LOGIN_MAX_FAILURES_PER_ADDRESS"]:
        minutes = max(1, config["LOGIN_WINDOW_SECONDS"] // 60)
        raise LoginThrottled(
            _("Too many failed sign-ins. Please wait %(minutes)d minutes or reset your password.", minutes=minutes)
        )
    user = db.session.scalar(select(User).where(User.email == email))
    if user is None or not user.password_hash:
        if "hash" not in _DUMMY_HASH:
            _DUMMY_HASH["hash"] = hash_password(secrets.token_hex(8))
        verify_password(_DUMMY_HASH["hash"], password)
        ok = False
    else:
        ok = verify_password(user.password_hash, password)
    if not ok or user is None or not user.active:
        db.session.add(LoginAttempt(email=email, address=address))
        raise InvalidCredentials(_("Wrong e-mail address or password."))
    db.session.execute(delete(LoginAttempt).where(LoginAttempt.email == email))
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    user.last_login_at = utcnow()
    return user


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start_session(user: User, address: str) -> str:
    """Record a new signed-in session and return its secret token (kept in the signed cookie)."""
    token = secrets.token_urlsafe(32)
    db.session.add(UserSession(token_hash=_token_hash(token), user=user, address=(address or "")[:64]))
    record(user, "user.login", user)
    return token


def find_session(user_id: int, token: str | None) -> UserSession | None:
    """The live session for this cookie, or None when it was ended or has timed out."""
    if not token:
        return None
    row = db.session.scalar(select(UserSession).where(UserSession.token_hash == _token_hash(token)))
    if row is None or row.user_id != user_id:
        return None
    now = datetime.now(timezone.utc)
    config = current_app.config
    if now - row.created_at > timedelta(seconds=config["SESSION_ABSOLUTE_TIMEOUT"]) or now - row.last_seen_at > timedelta(
        seconds=config["SESSION_IDLE_TIMEOUT"]
    ):
        return None
    return row


def end_session(token: str | None) -> None:
    if token:
        db.session.execute(delete(UserSession).where(UserSession.token_hash == _token_hash(token)))


def end_all_sessions(user: User) -> None:
    if user.id is not None:
        db.session.execute(delete(UserSession).where(UserSession.user_id == user.id))
