"""Accounts: invitations, passwords, sign-in with throttling (services/throttle.py), and server-side sessions."""
from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app
from flask_babel import gettext as _
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import delete, select, update
from sqlalchemy.orm import joinedload
from werkzeug.security import check_password_hash

from matchmaker.errors import DomainError, InvalidCredentials, NotPermitted
from matchmaker.extensions import db
from matchmaker.models import AccountLink, Member, Organisation, User, UserSession
from matchmaker.models.base import utcnow
from matchmaker.permissions import SIDE_OF_ROLE, can, keeps_user_management
from matchmaker.services import throttle
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


def dummy_hash() -> str:
    """A hash of a random password, made once per process (warm.py makes it before gunicorn forks)."""
    if "hash" not in _DUMMY_HASH:
        _DUMMY_HASH["hash"] = hash_password(secrets.token_hex(8))
    return _DUMMY_HASH["hash"]


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


def _secret_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def make_token(user: User, purpose: str) -> str:
    """A link's secret: random, kept only as its SHA-256, so neither the signing key nor the database forges one."""
    secret = secrets.token_urlsafe(32)
    db.session.add(AccountLink(user_id=user.id, purpose=purpose, secret_hash=_secret_hash(secret)))
    db.session.flush()
    return secret


def user_from_token(token: str, purpose: str, lock: bool = False) -> User | None:
    """The user a valid, unexpired, unused link was made for, else None; ``lock`` holds the link's row until the
    transaction ends (the page that sets the password), so that two posts of one link cannot both use it."""
    max_age = current_app.config["INVITE_MAX_AGE" if purpose == "invite" else "RESET_MAX_AGE"]
    if not isinstance(token, str) or not 20 <= len(token) <= 100:
        return None
    query = select(AccountLink).where(AccountLink.secret_hash == _secret_hash(token), AccountLink.purpose == purpose)
    row = db.session.scalar(query.with_for_update() if lock else query)
    if row is None or row.used_at is not None or utcnow() - row.created_at > timedelta(seconds=max_age):
        return None
    return row.user if row.user.active else None


def link(path: str) -> str:
    """An absolute link built from the configured public address, never from the request's Host."""
    return current_app.config["BASE_URL"] + path


def _affiliation(role: str, member: Member | None,
                 organisation: Organisation | None) -> tuple[Member | None, Organisation | None]:
    """The member or the organisation an account of this role acts for (permissions.SIDE_OF_ROLE), the other
    None; refused when the one the role needs is missing."""
    side = SIDE_OF_ROLE.get(role)
    if side == "member" and member is None:
        raise DomainError(_("A delegate must act for a member."), field="member")
    if side == "organisation" and organisation is None:
        raise DomainError(_("A partner must act for an organisation."), field="organisation")
    return (member if side == "member" else None), (organisation if side == "organisation" else None)


def create_account(*, email: str, name: str, role: str, language: str, member: Member | None,
                   organisation: Organisation | None, password: str) -> User:
    """An account with a password, made from the command line (the first admin, say); the caller commits."""
    member, organisation = _affiliation(role, member, organisation)
    user = User(email=normalise_email(email), name=name, role=role, language=language, member=member,
                organisation=organisation, password_hash=hash_password(password), active=True)
    db.session.add(user)
    db.session.flush()
    record(None, "user.created_by_cli", user, role=role)
    return user


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
    if not can(actor, "user.give_role", role):
        raise NotPermitted(_("You may not invite a user with this role."))
    email = normalise_email(email)
    if db.session.scalar(select(User.id).where(User.email == email)) is not None:
        raise DomainError(_("An account with this e-mail address already exists."), field="email")
    member, organisation = _affiliation(role, member, organisation)
    user = User(email=email, name=name.strip(), role=role, language=language, member=member,
                organisation=organisation, active=True)
    db.session.add(user)
    db.session.flush()
    record(actor, "user.invited", user, role=role)
    return user


def set_password(user: User, password: str, actor: User | None = None, action: str = "user.password_set") -> None:
    """Store a new password hash and end every session the user had."""
    # The holder proved who they are: earlier failures lock nothing any more (first, before the user's row changes).
    throttle.clear_account(user.email)
    user.password_hash = hash_password(password)
    user.password_changed_at = utcnow()
    end_all_sessions(user)
    # Every link sent before is spent: each invitation or reset link sets a password once.
    db.session.execute(update(AccountLink).where(AccountLink.user_id == user.id, AccountLink.used_at.is_(None))
                       .values(used_at=utcnow()))
    record(actor or user, action, user)


def update_user(actor: User, user: User, *, role: str, active: bool, member: Member | None,
                organisation: Organisation | None, name: str, language: str) -> None:
    """An admin changes a user's role, affiliation or active flag."""
    if user.id == actor.id and (not active or not keeps_user_management(role)):
        raise DomainError(_("You cannot demote or disable your own account."))
    member, organisation = _affiliation(role, member, organisation)
    changes = {}
    for field, value in (("role", role), ("active", active), ("name", name.strip()), ("language", language)):
        if getattr(user, field) != value:
            changes[field] = [getattr(user, field), value]
            setattr(user, field, value)
    user.member, user.organisation = member, organisation
    if not active:
        end_all_sessions(user)
    record(actor, "user.updated", user, **changes)


# ---- sign-in -------------------------------------------------------------------------------------------------

def _device_serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="matchmaker-device")


def device_cookie(user: User) -> str:
    """A new device cookie for a browser that just signed in: the user and a random nonce, signed (OWASP)."""
    return _device_serializer().dumps([user.id, secrets.token_urlsafe(16)])


def device_key(cookie: str | None, user: User | None) -> str | None:
    """The key of a valid device cookie that names this user (its nonce's SHA-256), else None."""
    if not cookie or user is None or len(cookie) > 300:
        return None
    try:
        user_id, nonce = _device_serializer().loads(cookie, max_age=current_app.config["DEVICE_COOKIE_MAX_AGE"])
    except (BadSignature, SignatureExpired, ValueError, TypeError):
        return None
    if user_id != user.id or not isinstance(nonce, str):
        return None
    return hashlib.sha256(nonce.encode()).hexdigest()


@dataclass(frozen=True)
class SignInAttempt:
    """A try recorded by begin_sign_in, with what finish_sign_in needs once the caller has committed it."""

    id: int
    client: throttle.Client
    user_id: int | None
    password_hash: str | None


def begin_sign_in(email: str, address: str, cookie: str | None) -> SignInAttempt:
    """Check the limits and record the try (LoginThrottled when a limit is reached). The caller commits before
    finish_sign_in, so that the slow password check holds no lock and concurrent tries see this one."""
    email = normalise_email(email)[:254]
    user = db.session.scalar(select(User).where(User.email == email))
    client = throttle.Client(email, (address or "unknown")[:64], device_key(cookie, user))
    attempt_id = throttle.reserve(client)
    usable = user is not None and user.active and user.password_hash
    return SignInAttempt(attempt_id, client, user.id if usable else None, user.password_hash if usable else None)


def fail_sign_in(attempt: SignInAttempt) -> None:
    """The password was wrong: the recorded try counts as a failure from now on (caller commits)."""
    throttle.failed(attempt.id)


def finish_sign_in(attempt: SignInAttempt, password: str) -> User:
    """Check the password (InvalidCredentials: the caller records the failure with fail_sign_in); on success forget
    the try, bring the hash to the configured parameters and return the user (caller commits)."""
    if attempt.password_hash is None:
        verify_password(dummy_hash(), password)  # an unknown account costs as much time as a wrong password
        raise InvalidCredentials(_("Wrong e-mail address or password."))
    if not verify_password(attempt.password_hash, password):
        raise InvalidCredentials(_("Wrong e-mail address or password."))
    user = db.session.get(User, attempt.user_id)
    if user is None or not user.active or user.password_hash != attempt.password_hash:  # changed meanwhile
        raise InvalidCredentials(_("Wrong e-mail address or password."))
    throttle.forgive(attempt.id, attempt.client)
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    user.last_login_at = utcnow()
    return user


def clear_sign_in_lock(actor: User, kind: str, subject: str) -> int:
    """An admin lifts a lock: every failure of an account (kind 'account' or 'device'), or those of unknown devices
    from an address ('address'). Returns how many failures were forgotten."""
    if kind == "address":
        forgotten = throttle.clear_address(subject)
        record(actor, "sign_in.lock_cleared", throttle.SignInLock(), kind=kind, address=subject, failures=forgotten)
        return forgotten
    email = normalise_email(subject)
    forgotten = throttle.clear_account(email)
    user = db.session.scalar(select(User).where(User.email == email))
    record(actor, "sign_in.lock_cleared", user or throttle.SignInLock(), kind="account", email=email,
           failures=forgotten)
    return forgotten


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start_session(user: User, address: str) -> str:
    """Record a new signed-in session and return its secret token (kept in the signed cookie)."""
    token = secrets.token_urlsafe(32)
    db.session.add(UserSession(token_hash=_token_hash(token), user=user, address=(address or "")[:64]))
    record(user, "user.login", user)
    return token


def with_signed_in_user(relationship) -> tuple:
    """Loader options that read, with a session or a token, its user, the user's member or organisation and their
    count of unread messages: what every signed-in page or API call asks first, in the one statement."""
    user = joinedload(relationship)
    return user.joinedload(User.member), user.joinedload(User.organisation), user.undefer(User.unread_messages)


def find_session(user_id: int, token: str | None) -> UserSession | None:
    """The live session for this cookie, or None when it was ended or has timed out; its user, the user's member or
    organisation and their count of unread messages are read with it (one statement for what every signed-in page
    asks first)."""
    if not token:
        return None
    row = db.session.scalar(select(UserSession).options(*with_signed_in_user(UserSession.user))
                            .where(UserSession.token_hash == _token_hash(token)))
    if row is None or row.user_id != user_id:
        return None
    now = datetime.now(UTC)
    config = current_app.config
    too_old = now - row.created_at > timedelta(seconds=config["SESSION_ABSOLUTE_TIMEOUT"])
    too_idle = now - row.last_seen_at > timedelta(seconds=config["SESSION_IDLE_TIMEOUT"])
    if too_old or too_idle:
        return None
    return row


def end_session(token: str | None) -> None:
    if token:
        db.session.execute(delete(UserSession).where(UserSession.token_hash == _token_hash(token)))


def end_all_sessions(user: User) -> None:
    if user.id is not None:
        # "fetch": the rows' objects leave the session even when a commit expired them (a re-authentication
        # commits before the password is changed), so a new session row may take a freed id.
        db.session.execute(delete(UserSession).where(UserSession.user_id == user.id)
                           .execution_options(synchronize_session="fetch"))
