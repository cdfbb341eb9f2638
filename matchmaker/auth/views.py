"""Sign in and out, invitations, password resets and the account page."""
from __future__ import annotations

import math
import time
from datetime import timedelta

from flask import Blueprint, current_app, flash, g, redirect, render_template, request, session, url_for
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user
from sqlalchemy import select

from matchmaker.api.forms import ApiTokenForm, RevokeTokenForm
from matchmaker.api.tokens import create_token, revoke_token, tokens_of
from matchmaker.auth.forms import ChangePasswordForm, LoginForm, ProfileForm, ResetRequestForm, SetPasswordForm
from matchmaker.errors import DomainError, InvalidCredentials, LoginThrottled
from matchmaker.extensions import db
from matchmaker.mail import send_mail
from matchmaker.models import ApiToken, User
from matchmaker.services import accounts, throttle
from matchmaker.services.audit import record
from matchmaker.utils import client_address, load_or_404, safe_next

bp = Blueprint("auth", __name__)


def _sign_in(user: User) -> None:
    # A fresh session at sign-in: nothing set before (e.g. by someone who planted a cookie) survives.
    lang = session.get("lang")
    session.clear()
    g.pop("user_session", None)  # any session this browser had is over
    token = accounts.start_session(user, client_address())
    session["sid"] = token
    if lang:
        session["lang"] = lang
    login_user(user)


CROWDED_WAIT_SECONDS = 10


def check_credentials(email: str, password: str) -> tuple[User | None, DomainError | None]:
    """Sign-in and every re-authentication (the current password, any step-up) go through the same throttle:
    (the user, None), or (None, the refusal: LoginThrottled or InvalidCredentials)."""
    cookie = request.cookies.get(current_app.config["DEVICE_COOKIE_NAME"])
    deadline, pause = time.monotonic() + CROWDED_WAIT_SECONDS, 0.05
    while True:
        try:
            attempt = accounts.begin_sign_in(email, client_address(), cookie)
            break
        except LoginThrottled as error:
            db.session.rollback()
            return None, error
        except throttle.Crowded:  # others' tries are being checked: wait for them, holding no lock
            db.session.rollback()
            if time.monotonic() > deadline:
                return None, LoginThrottled(_("Too many sign-ins at once for this account or from your network. "
                                              "Try again in a moment."), retry_after=timedelta(seconds=5))
            time.sleep(pause)
            pause = min(pause * 2, 0.4)
    db.session.commit()  # the try is counted before the slow password check, which then holds no lock
    try:
        return accounts.finish_sign_in(attempt, password), None
    except InvalidCredentials as error:
        db.session.rollback()
        accounts.fail_sign_in(attempt)
        db.session.commit()
        return None, error


def _retry_after(error: DomainError) -> dict[str, str]:
    wait = getattr(error, "retry_after", None)
    return {"Retry-After": str(max(1, math.ceil(wait.total_seconds())))} if wait else {}


def _remember_device(response, device: str):
    """The browser is now a known device of this account (OWASP's device cookie)."""
    config = current_app.config
    response.set_cookie(config["DEVICE_COOKIE_NAME"], device,
                        max_age=config["DEVICE_COOKIE_MAX_AGE"], secure=bool(config.get("SESSION_COOKIE_SECURE")),
                        httponly=True, samesite="Strict", path="/")
    return response


@bp.route("/login", methods=["GET", "POST"])
def login():
    if current_user.is_authenticated:
        return redirect(url_for("main.index"))
    form = LoginForm()
    status, headers = 200, {}
    if form.validate_on_submit():
        user, refusal = check_credentials(form.email.data, form.password.data)
        if user is not None:
            _sign_in(user)
            device = accounts.device_cookie(user)  # before the commit: reading the user after it would query again
            db.session.commit()
            return _remember_device(redirect(safe_next(request.args.get("next"), url_for("main.index"))), device)
        flash(refusal.message, "error")
        status, headers = refusal.status_code, _retry_after(refusal)
    elif request.method == "POST":
        status = 422
    return render_template("auth/login.html", form=form), status, headers


@bp.post("/logout")
@login_required
def logout():
    record(current_user, "user.logout", current_user._get_current_object())
    accounts.end_session(session.get("sid"))
    db.session.commit()
    logout_user()
    session.clear()
    flash(_("You are signed out."), "info")
    return redirect(url_for("auth.login"))


def _set_password_page(token: str, purpose: str):
    user = accounts.user_from_token(token, purpose, lock=request.method == "POST")
    if user is None:
        flash(_("This link is invalid, has expired or was already used. Ask for a new one."), "error")
        return redirect(url_for("auth.reset_request"))
    form = SetPasswordForm()
    form.email_for_check = user.email
    if form.validate_on_submit():
        accounts.set_password(user, form.password.data,
                              action="user.invitation_accepted" if purpose == "invite" else "user.password_reset")
        db.session.commit()
        flash(_("Your password is set. You can sign in now."), "success")
        return redirect(url_for("auth.login"))
    title = _("Welcome to TA Matchmaker") if purpose == "invite" else _("Choose a new password")
    return render_template("auth/set_password.html", form=form, user=user, title=title), \
        200 if request.method == "GET" else 422


@bp.route("/invite/<token>", methods=["GET", "POST"])
def accept_invite(token: str):
    return _set_password_page(token, "invite")


@bp.route("/reset", methods=["GET", "POST"])
def reset_request():
    form = ResetRequestForm()
    if form.validate_on_submit():
        email = accounts.normalise_email(form.email.data)
        user = db.session.scalar(select(User).where(User.email == email))
        if user is not None and user.active:
            url = accounts.link(url_for("auth.reset_password", token=accounts.make_token(user, "reset")))
            with force_locale(user.language or "en"):   # in the account holder's language
                subject = _("Reset your TA Matchmaker password")
                body = _("Someone asked to reset the password of your TA Matchmaker account.\n\n"
                         "To choose a new password, open this link within one hour:\n%(url)s\n\n"
                         "If it was not you, ignore this message: your password has not changed.", url=url)
            send_mail(user.email, subject, body)
            record(user, "user.reset_requested", user)
            db.session.commit()
        # The same answer whether or not the account exists, so that nobody can probe for accounts.
        flash(_("If an account exists for this address, we have sent it a link to reset the password."), "info")
        return redirect(url_for("auth.login"))
    return render_template("auth/reset_request.html", form=form), 200 if request.method == "GET" else 422


@bp.route("/reset/<token>", methods=["GET", "POST"])
def reset_password(token: str):
    return _set_password_page(token, "reset")


@bp.route("/account", methods=["GET", "POST"])
@login_required
def account():
    profile = ProfileForm(obj=current_user, prefix="profile")
    password = ChangePasswordForm(prefix="password")
    password.email_for_check = current_user.email
    status = 200
    if request.method == "POST":
        status = 422
        user = current_user._get_current_object()
        if profile.submit.data and profile.validate():
            user.name, user.language = profile.name.data, profile.language.data
            record(user, "user.profile_updated", user)
            db.session.commit()
            flash(_("Your profile was saved."), "success")
            return redirect(url_for("auth.account"))
        if password.submit.data and password.validate():
            checked, refusal = check_credentials(user.email, password.current.data)
            if checked is None:
                password.current.errors.append(_("This is not your current password.")
                                               if isinstance(refusal, InvalidCredentials) else refusal.message)
                status = refusal.status_code
            else:
                accounts.set_password(user, password.password.data, action="user.password_changed")
                # Every other session ended; this browser gets a fresh one.
                _sign_in(user)
                db.session.commit()
                flash(_("Your password was changed. Other devices have been signed out."), "success")
                return redirect(url_for("auth.account"))
    return _account_page(profile, password, status)


def _account_page(profile=None, password=None, status: int = 200, token_form=None, new_secret: str | None = None):
    if profile is None:
        profile = ProfileForm(obj=current_user, prefix="profile")
    if password is None:
        password = ChangePasswordForm(prefix="password")
    return render_template("auth/account.html", profile=profile, password=password,
                           mail_configured=bool(current_app.config.get("MAIL_SERVER")),
                           token_form=token_form or ApiTokenForm(prefix="token", formdata=None),
                           revoke_form=RevokeTokenForm(), tokens=tokens_of(current_user), new_secret=new_secret), status


@bp.post("/account/tokens")
@login_required
def create_api_token():
    """Create a personal API token; its secret is shown on this one page and never again."""

    form = ApiTokenForm(prefix="token")
    if form.validate():
        try:
            _token, secret = create_token(current_user._get_current_object(), form.name.data)
        except DomainError as error:
            db.session.rollback()
            form.name.errors.append(error.message)
        else:
            db.session.commit()
            # Rendered, not redirected: the secret must not travel through the session cookie or a URL,
            # nor stay in a cache.
            body, status = _account_page(new_secret=secret, status=201)
            return body, status, {"Cache-Control": "no-store"}
    return _account_page(token_form=form, status=422)


@bp.post("/account/tokens/<int:token_id>/revoke")
@login_required
def revoke_api_token(token_id: int):
    token = load_or_404(ApiToken, token_id, "api_token.revoke")
    if RevokeTokenForm().validate():
        try:
            revoke_token(current_user._get_current_object(), token)
        except DomainError as error:
            db.session.rollback()
            flash(error.message, "error")
        else:
            db.session.commit()
            flash(_("The token “%(name)s” was revoked; programs using it are refused from now on.",
                    name=token.name), "success")
    return redirect(url_for("auth.account"))
