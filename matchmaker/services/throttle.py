"""Sign-in throttling that slows guessing without locking the account holder out (OWASP's device cookies).

A browser that signed in to an account before shows a device cookie for it (services/accounts.py): its failures
count for that device alone, and only that device is locked after too many. Every other try comes from an unknown
device and is limited three ways within the window: per account and address pair, with a growing wait after the
first few failures; per account (unknown devices are refused, known ones still sign in); and per address (one
address guessing many accounts). Each try is recorded, pending, before the password is checked; it becomes a failure
when the password is wrong and is removed when it is right. The counts are serialised per account and per address
(PostgreSQL advisory locks; SQLite's BEGIN IMMEDIATE serialises writing requests anyway), and a try that would take
a limit's last places while others are still being checked waits for them (Crowded), so that no more passwords are
checked than a limit allows, however many tries arrive at once, while people signing in at the same moment (a
workshop's room, one address) are not refused for each other's pending tries."""
from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from flask_babel import ngettext
from sqlalchemy import String, and_, delete, func, literal, or_, select, text, union_all, update

from matchmaker.errors import LoginThrottled
from matchmaker.extensions import db
from matchmaker.models import LoginAttempt
from matchmaker.models.base import utcnow


@dataclass(frozen=True)
class Client:
    """Who is trying: the account asked for, the address, and the known device's key (None: an unknown device)."""

    email: str
    address: str
    device: str | None = None


def _lock(*keys: str) -> None:
    """Hold PostgreSQL advisory locks on these keys until the transaction ends, taken in the given order by one
    statement (a select list is evaluated from left to right)."""
    if db.session.get_bind().dialect.name != "postgresql":
        return
    numbers = {f"key{i}": int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big", signed=True)
               for i, key in enumerate(keys)}
    calls = ", ".join(f"pg_advisory_xact_lock(:{name})" for name in numbers)
    db.session.execute(text(f"SELECT {calls}"), numbers)


class Crowded(Exception):
    """Tries still being checked would take a limit's last places: try again once they are done."""


# A try still pending after this long was cut short (a worker killed mid-check): it counts as a failure.
STALE = timedelta(seconds=60)


def _window() -> timedelta:
    return timedelta(seconds=current_app.config["LOGIN_WINDOW_SECONDS"])


@dataclass(frozen=True)
class Tries:
    """Of the tries that meet a condition within the window: the times of the newest failures (newest first, at most
    the limit asked for) and how many are still being checked."""

    failures: list[datetime]
    in_flight: int


def _tries(**conditions: tuple) -> dict[str, Tries]:
    """The Tries of each named (condition, limit), read in one statement: a try turning from pending into a failure
    meanwhile is counted once (READ COMMITTED reads each statement's own snapshot), and one round trip serves every
    limit of a sign-in."""
    now = utcnow()
    branches = [select(literal(name, String).label("kind"), LoginAttempt.at, LoginAttempt.pending)
                .where(condition, LoginAttempt.at >= now - _window())
                .order_by(LoginAttempt.at.desc()).limit(limit + 500).subquery()
                for name, (condition, limit) in conditions.items()]
    rows = db.session.execute(union_all(*(select(b.c.kind, b.c.at, b.c.pending) for b in branches))).all()
    found = {}
    for name, (_condition, limit) in conditions.items():
        mine = [(at, pending) for kind, at, pending in rows if kind == name]
        failures = sorted((at for at, pending in mine if not pending or at < now - STALE), reverse=True)
        found[name] = Tries(failures[:limit], len(mine) - len(failures))
    return found


def _locked_until(tries: Tries, limit: int) -> datetime | None:
    """With ``limit`` failures or more in the window, the moment the oldest of the newest ``limit`` leaves it; with
    fewer, but enough tries still being checked to reach it, Crowded."""
    if len(tries.failures) >= limit:
        return tries.failures[-1] + _window()
    if len(tries.failures) + tries.in_flight >= limit:
        raise Crowded()
    return None


PAIR_FAILURES_READ = 64     # the pair's wait doubles with each failure up to the window: 64 are more than enough


def _pair_wait_until(tries: Tries) -> datetime | None:
    """After the free failures of an account and address pair, each further one doubles the wait."""
    config = current_app.config
    times = tries.failures
    extra = len(times) - config["LOGIN_FREE_FAILURES"]
    if extra < 0:
        return None
    wait = min(config["LOGIN_FIRST_DELAY_SECONDS"] * 2 ** min(extra, 20), config["LOGIN_WINDOW_SECONDS"])
    return times[0] + timedelta(seconds=wait)


def _device(client: Client):
    return and_(LoginAttempt.email == client.email, LoginAttempt.device == client.device)


def _pair(client: Client):
    return and_(LoginAttempt.email == client.email, LoginAttempt.address == client.address,
                LoginAttempt.device.is_(None))


def _account(email: str):
    return and_(LoginAttempt.email == email, LoginAttempt.device.is_(None))


def _address(address: str):
    return and_(LoginAttempt.address == address, LoginAttempt.device.is_(None))


def _minutes(until: datetime) -> int:
    return max(1, math.ceil((until - utcnow()).total_seconds() / 60))


def check(client: Client) -> None:
    """Refuse the try (LoginThrottled) while a limit that applies to this client is reached; Crowded while tries
    being checked could reach one."""
    config = current_app.config
    now = utcnow()
    if client.device is not None:
        limit = config["LOGIN_MAX_FAILURES_PER_DEVICE"]
        until = _locked_until(_tries(device=(_device(client), limit))["device"], limit)
        if until and until > now:
            raise LoginThrottled(ngettext("Too many failed sign-ins from this device. Wait %(num)d minute, or reset "
                                          "your password.", "Too many failed sign-ins from this device. Wait "
                                          "%(num)d minutes, or reset your password.", _minutes(until)),
                                 retry_after=until - now)
        return
    account_limit, address_limit = config["LOGIN_MAX_FAILURES_PER_ACCOUNT"], config["LOGIN_MAX_FAILURES_PER_ADDRESS"]
    tries = _tries(account=(_account(client.email), account_limit), address=(_address(client.address), address_limit),
                   pair=(_pair(client), PAIR_FAILURES_READ))
    until = _locked_until(tries["account"], account_limit)
    if until and until > now:
        raise LoginThrottled(ngettext("Too many failed sign-ins to this account from devices it has not used before. "
                                      "Sign in from a device you used before, wait %(num)d minute, or reset your "
                                      "password.",
                                      "Too many failed sign-ins to this account from devices it has not used before. "
                                      "Sign in from a device you used before, wait %(num)d minutes, or reset your "
                                      "password.", _minutes(until)), retry_after=until - now)
    until = _locked_until(tries["address"], address_limit)
    if until and until > now:
        raise LoginThrottled(ngettext("Too many failed sign-ins from your network. Wait %(num)d minute, or sign in "
                                      "from a device you used before.",
                                      "Too many failed sign-ins from your network. Wait %(num)d minutes, or sign in "
                                      "from a device you used before.", _minutes(until)), retry_after=until - now)
    until = _pair_wait_until(tries["pair"])
    if until and until > now:
        seconds = max(1, math.ceil((until - now).total_seconds()))
        raise LoginThrottled(ngettext("Too many failed sign-ins. Wait %(num)d second before you try again, or reset "
                                      "your password.", "Too many failed sign-ins. Wait %(num)d seconds before you "
                                      "try again, or reset your password.", seconds), retry_after=until - now)


def reserve(client: Client) -> int:
    """Check the limits and record this try, pending; returns the record's id (caller commits). Concurrent tries of
    one account or from one address wait for each other here, so each sees the others. LoginThrottled or Crowded."""
    _lock("account:" + client.email, "address:" + client.address)
    check(client)
    expired = utcnow() - _window()  # what no limit counts any more goes, for this account and this address
    db.session.execute(delete(LoginAttempt).where(
        LoginAttempt.at < expired, or_(LoginAttempt.email == client.email, LoginAttempt.address == client.address)))
    attempt = LoginAttempt(email=client.email, address=client.address, device=client.device, pending=True)
    db.session.add(attempt)
    db.session.flush()
    return attempt.id


def failed(attempt_id: int) -> None:
    """The password was wrong: the pending try is a failure now (caller commits)."""
    db.session.execute(update(LoginAttempt).where(LoginAttempt.id == attempt_id).values(pending=False))


def forgive(attempt_id: int, client: Client) -> None:
    """The try succeeded: forget it and the earlier failures of the same device, or of the same account and address
    (not the tries others are checking now). Under the same locks as reserve: two sign-ins of one account at once
    would otherwise delete the same rows in different orders (a deadlock on PostgreSQL)."""
    condition = _device(client) if client.device is not None else _pair(client)
    _lock("account:" + client.email, "address:" + client.address)
    db.session.execute(delete(LoginAttempt).where(
        or_(LoginAttempt.id == attempt_id, and_(condition, LoginAttempt.pending.is_(False)))))


def clear_account(email: str) -> int:
    """Forget every failure of an account (a completed reset, or an admin): returns how many there were. Call it
    before changing the user's row, so that locks are always taken in the order sign-ins take them."""
    _lock("account:" + email)
    return db.session.execute(delete(LoginAttempt).where(LoginAttempt.email == email,
                                                         LoginAttempt.pending.is_(False))).rowcount or 0


def clear_address(address: str) -> int:
    """Forget the failures of unknown devices from one address (an admin): returns how many there were."""
    _lock("address:" + address)
    return db.session.execute(delete(LoginAttempt).where(_address(address),
                                                         LoginAttempt.pending.is_(False))).rowcount or 0


class SignInLock:
    """What the audit log names when an admin lifts a lock that is not an account's (an address, an unknown e-mail)."""

    id = None


@dataclass(frozen=True)
class Lock:
    """A limit reached now: kind is 'account' (unknown devices refused), 'device' (one device of the account
    refused) or 'address' (unknown devices from there refused)."""

    kind: str
    subject: str
    failures: int
    until: datetime


def current_locks() -> list[Lock]:
    """Every lock in force, for the admins' page."""
    config = current_app.config
    since, now = utcnow() - _window(), utcnow()
    groups = (
        ("account", LoginAttempt.email, LoginAttempt.device.is_(None), config["LOGIN_MAX_FAILURES_PER_ACCOUNT"],
         _account),
        ("device", LoginAttempt.email, LoginAttempt.device.is_not(None), config["LOGIN_MAX_FAILURES_PER_DEVICE"],
         None),
        ("address", LoginAttempt.address, LoginAttempt.device.is_(None), config["LOGIN_MAX_FAILURES_PER_ADDRESS"],
         _address),
    )
    locks = []
    for kind, column, which, limit, condition in groups:
        grouped = [column] + ([LoginAttempt.device] if kind == "device" else [])
        rows = db.session.execute(select(*grouped, func.count(LoginAttempt.id)).where(which, LoginAttempt.at >= since)
                                  .group_by(*grouped).having(func.count(LoginAttempt.id) >= limit)
                                  .order_by(column))
        for row in rows:
            subject, failures = row[0], row[-1]
            where = condition(subject) if condition else _device(Client(subject, "", row[1]))
            try:
                until = _locked_until(_tries(lock=(where, limit))["lock"], limit)
            except Crowded:
                continue
            if until and until > now:
                locks.append(Lock(kind, subject, failures, until))
    return locks
