"""flask commands for admins: reference data, demo data, accounts, backups and the public report."""
from __future__ import annotations

from datetime import date

import click
from flask import Flask, current_app
from flask.cli import with_appcontext
from sqlalchemy import func, select

from matchmaker.auth.forms import common_passwords
from matchmaker.deploy import deployment_checks
from matchmaker.errors import DomainError
from matchmaker.extensions import db
from matchmaker.models import Match, Member, Organisation, User
from matchmaker.permissions import SIDE_OF_ROLE
from matchmaker.services import accounts, editions
from matchmaker.services.backup import BackupError, backup, restore
from matchmaker.services.demo import DEMO_PASSWORD, DEMO_USERS, seed_demo
from matchmaker.services.match_index import forget_saved_index
from matchmaker.services.reference import load_members


@click.command("load-reference")
@with_appcontext
def load_reference() -> None:
    """Load or update WTO members and observers (idempotent)."""
    inserted, updated = load_members()
    db.session.commit()
    click.echo(f"Members: {inserted} added, {updated} updated.")


@click.command("seed-demo")
@with_appcontext
def seed_demo_command() -> None:
    """Load the demo: organisations, people, needs, offerings and what happened to them (idempotent)."""
    added = seed_demo()
    db.session.commit()
    click.echo("Demo data: " + ", ".join(f"{count} {what} added" for what, count in added.items()) + ".")
    # Opening the needs proposed programmes, as it would in service: the facilitators' queue is not empty.
    waiting = db.session.scalar(select(func.count(Match.id)).where(Match.status == "proposed"))
    click.echo(f"Review queue: {waiting} proposals await a facilitator's decision.")


@click.command("demo-accounts")
@with_appcontext
def demo_accounts() -> None:
    """Print how to sign in as each demo role."""
    sign_in = current_app.config["BASE_URL"] + "/login"
    click.echo(f"Sign in at {sign_in} with password {DEMO_PASSWORD} as:")
    for email, name, role, member, org, _language in DEMO_USERS:
        acting = f" for {member}" if member else f" for {org}" if org else ""
        click.echo(f"  {role:<12} {email:<28} ({name}{acting})")


@click.command("check-deploy")
@with_appcontext
def check_deploy() -> None:
    """Check the settings a production deployment depends on; exits with status 1 if one fails."""
    checks = deployment_checks(current_app)
    for check in checks:
        click.echo(f"{'ok  ' if check.ok else 'FAIL'}  {check.name}: {check.detail}")
    failed = [check.name for check in checks if not check.ok]
    if failed:
        raise click.ClickException(f"{len(failed)} of {len(checks)} checks failed: " + ", ".join(failed))
    click.echo(f"All {len(checks)} checks passed.")


@click.command("backup")
@click.argument("destination", type=click.Path(dir_okay=False))
@with_appcontext
def backup_command(destination: str) -> None:
    """Back up the whole database to DESTINATION while the service runs (SQLite file or pg_dump archive)."""
    try:
        result = backup(current_app.config["SQLALCHEMY_DATABASE_URI"], destination)
    except BackupError as error:
        raise click.ClickException(str(error)) from error
    click.echo(f"Backed up to {result.path} ({result.kind}, {result.size:,} bytes).")


@click.command("restore")
@click.argument("source", type=click.Path(exists=True, dir_okay=False))
@click.option("--yes", is_flag=True, help="Do not ask before replacing the database's content.")
@with_appcontext
def restore_command(source: str, yes: bool) -> None:
    """Replace the database's content with the backup SOURCE (stop the service first)."""
    if not yes:
        click.confirm("This replaces everything in the database with the backup. Go on?", abort=True)
    db.session.remove()
    db.engine.dispose()  # no connection of ours holds the database while it is replaced
    try:
        restore(current_app.config["SQLALCHEMY_DATABASE_URI"], source)
    except BackupError as error:
        raise click.ClickException(str(error)) from error
    forget_saved_index()        # the saved matching index reflects the records before the restore
    click.echo(f"Restored from {source}.")


def _affiliation(role: str, member_code: str | None, acronym: str | None) -> tuple[Member | None, Organisation | None]:
    """The member or organisation the new account acts for, as its role requires (permissions.SIDE_OF_ROLE)."""
    member = db.session.scalar(select(Member).where(Member.code == member_code.upper())) if member_code else None
    organisation = db.session.scalar(select(Organisation).where(Organisation.acronym == acronym)) if acronym else None
    side = SIDE_OF_ROLE.get(role)
    if side == "member" and member is None:
        raise click.ClickException("A delegate needs --member with a known ISO code.")
    if side == "organisation" and organisation is None:
        raise click.ClickException("A partner needs --organisation with a known acronym.")
    return member, organisation


def _check_password(password: str) -> None:
    if len(password) < 10:
        raise click.ClickException("Use a password of at least 10 characters.")
    if password.lower().strip() in common_passwords():
        raise click.ClickException("This password is one of the most common ones; choose another.")


@click.command("create-user")
@click.option("--email", required=True)
@click.option("--name", required=True)
@click.option("--role", type=click.Choice(["delegate", "partner", "facilitator", "admin"]), required=True)
@click.option("--member", "member_code", help="ISO code of the member a delegate acts for")
@click.option("--organisation", "acronym", help="Acronym of the organisation a partner acts for")
@click.option("--language", type=click.Choice(["en", "fr", "es"]), default="en")
@click.password_option()
@with_appcontext
def create_user(email, name, role, member_code, acronym, language, password) -> None:
    """Create an account with a password (e.g. the first admin)."""
    email = accounts.normalise_email(email)
    if db.session.scalar(select(User).where(User.email == email)):
        raise click.ClickException(f"An account for {email} already exists.")
    member, organisation = _affiliation(role, member_code, acronym)
    _check_password(password)
    accounts.create_account(email=email, name=name, role=role, language=language, member=member,
                            organisation=organisation, password=password)
    db.session.commit()
    click.echo(f"Created {role} {email}.")


@click.command("publish-report")
@click.option("--by", "email", required=True, help="The facilitator (or admin) the edition is published as.")
@click.option("--if-due", is_flag=True, help="Only if this quarter has no edition yet (for a schedule: cron).")
@with_appcontext
def publish_report(email: str, if_due: bool) -> None:
    """Publish a new edition of the public report (e.g. quarterly from cron with --if-due)."""
    actor = db.session.scalar(select(User).where(User.email == email.strip().lower()))
    if actor is None:
        raise click.ClickException(f"No account with the e-mail {email}.")
    if if_due and not editions.due(date.today()):
        click.echo("This quarter already has an edition: nothing published.")
        return
    try:
        edition = editions.publish(actor)
    except DomainError as error:
        db.session.rollback()
        raise click.ClickException(error.message) from error
    db.session.commit()
    withheld = sum(t["withheld"] for t in edition.content["tables"].values())
    click.echo(f"Edition {edition.number} published ({withheld} figures withheld for changes since earlier "
               f"editions; tables withheld: {', '.join(edition.content['withheld_tables']) or 'none'}).")


COMMANDS = (load_reference, seed_demo_command, demo_accounts, check_deploy, backup_command, restore_command,
            create_user, publish_report)


def register(app: Flask) -> None:
    """Add every command to ``flask`` (each runs in the application's context: with_appcontext)."""
    for command in COMMANDS:
        app.cli.add_command(command)
