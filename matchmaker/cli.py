"""flask commands for admins: reference data, demo data and accounts."""
from __future__ import annotations

import click
from flask import Flask
from sqlalchemy import select

from matchmaker.extensions import db


def register(app: Flask) -> None:
    @app.cli.command("load-reference")
    def load_reference() -> None:
        """Load or update WTO members and observers (idempotent)."""
        from matchmaker.services.reference import load_members

        inserted, updated = load_members()
        db.session.commit()
        click.echo(f"Members: {inserted} added, {updated} updated.")

    @app.cli.command("seed-demo")
    def seed_demo_command() -> None:
        """Load the demo: organisations, people, needs, offerings and what happened to them (idempotent)."""
        from sqlalchemy import func

        from matchmaker.models import Match
        from matchmaker.services.demo import seed_demo

        added = seed_demo()
        db.session.commit()
        click.echo("Demo data: " + ", ".join(f"{count} {what} added" for what, count in added.items()) + ".")
        # Opening the needs proposed programmes, as it would in service: the facilitators' queue is not empty.
        waiting = db.session.scalar(select(func.count(Match.id)).where(Match.status == "proposed"))
        click.echo(f"Review queue: {waiting} proposals await a facilitator's decision.")

    @app.cli.command("demo-accounts")
    def demo_accounts() -> None:
        """Print how to sign in as each demo role."""
        from flask import current_app

        from matchmaker.services.demo import DEMO_PASSWORD, DEMO_USERS

        sign_in = current_app.config["BASE_URL"] + "/login"
        click.echo(f"Sign in at {sign_in} with password {DEMO_PASSWORD} as:")
        for email, name, role, member, org, _language in DEMO_USERS:
            acting = f" for {member}" if member else f" for {org}" if org else ""
            click.echo(f"  {role:<12} {email:<28} ({name}{acting})")

    @app.cli.command("check-deploy")
    def check_deploy() -> None:
        """Check the settings a production deployment depends on; exits with status 1 if one fails."""
        from flask import current_app

        from matchmaker.deploy import deployment_checks

        checks = deployment_checks(current_app)
        for check in checks:
            click.echo(f"{'ok  ' if check.ok else 'FAIL'}  {check.name}: {check.detail}")
        failed = [check.name for check in checks if not check.ok]
        if failed:
            raise click.ClickException(f"{len(failed)} of {len(checks)} checks failed: " + ", ".join(failed))
        click.echo(f"All {len(checks)} checks passed.")

    @app.cli.command("backup")
    @click.argument("destination", type=click.Path(dir_okay=False))
    def backup_command(destination: str) -> None:
        """Back up the whole database to DESTINATION while the service runs (SQLite file or pg_dump archive)."""
        from flask import current_app

        from matchmaker.services.backup import BackupError, backup

        try:
            result = backup(current_app.config["SQLALCHEMY_DATABASE_URI"], destination)
        except BackupError as error:
            raise click.ClickException(str(error)) from error
        click.echo(f"Backed up to {result.path} ({result.kind}, {result.size:,} bytes).")

    @app.cli.command("restore")
    @click.argument("source", type=click.Path(exists=True, dir_okay=False))
    @click.option("--yes", is_flag=True, help="Do not ask before replacing the database's content.")
    def restore_command(source: str, yes: bool) -> None:
        """Replace the database's content with the backup SOURCE (stop the service first)."""
        from flask import current_app

        from matchmaker.services.backup import BackupError, restore

        if not yes:
            click.confirm("This replaces everything in the database with the backup. Go on?", abort=True)
        db.session.remove()
        db.engine.dispose()  # no connection of ours holds the database while it is replaced
        try:
            restore(current_app.config["SQLALCHEMY_DATABASE_URI"], source)
        except BackupError as error:
            raise click.ClickException(str(error)) from error
        from matchmaker.services.match_index import forget_saved_index

        forget_saved_index()        # the saved matching index reflects the records before the restore
        click.echo(f"Restored from {source}.")

    @app.cli.command("create-user")
    @click.option("--email", required=True)
    @click.option("--name", required=True)
    @click.option("--role", type=click.Choice(["delegate", "partner", "facilitator", "admin"]), required=True)
    @click.option("--member", "member_code", help="ISO code of the member a delegate acts for")
    @click.option("--organisation", "acronym", help="Acronym of the organisation a partner acts for")
    @click.option("--language", type=click.Choice(["en", "fr", "es"]), default="en")
    @click.password_option()
    def create_user(email, name, role, member_code, acronym, language, password) -> None:
        """Create an account with a password (e.g. the first admin)."""
        from matchmaker.models import Member, Organisation, User
        from matchmaker.services.accounts import hash_password, normalise_email
        from matchmaker.services.audit import record

        email = normalise_email(email)
        if db.session.scalar(select(User).where(User.email == email)):
            raise click.ClickException(f"An account for {email} already exists.")
        member = db.session.scalar(select(Member).where(Member.code == (member_code or "").upper())) if member_code else None
        organisation = db.session.scalar(select(Organisation).where(Organisation.acronym == acronym)) if acronym else None
        if role == "delegate" and member is None:
            raise click.ClickException("A delegate needs --member with a known ISO code.")
        if role == "partner" and organisation is None:
            raise click.ClickException("A partner needs --organisation with a known acronym.")
        from matchmaker.auth.forms import common_passwords

        if len(password) < 10:
            raise click.ClickException("Use a password of at least 10 characters.")
        if password.lower().strip() in common_passwords():
            raise click.ClickException("This password is one of the most common ones; choose another.")
        user = User(email=email, name=name, role=role, language=language, member=member,
                    organisation=organisation, password_hash=hash_password(password), active=True)
        db.session.add(user)
        db.session.flush()
        record(None, "user.created_by_cli", user, role=role)
        db.session.commit()
        click.echo(f"Created {role} {email}.")

    @app.cli.command("publish-report")
    @click.option("--by", "email", required=True, help="The facilitator (or admin) the edition is published as.")
    @click.option("--if-due", is_flag=True, help="Only if this quarter has no edition yet (for a schedule: cron).")
    def publish_report(email: str, if_due: bool) -> None:
        """Publish a new edition of the public report (e.g. quarterly from cron with --if-due)."""
        from datetime import date

        from matchmaker.errors import DomainError
        from matchmaker.models import User
        from matchmaker.services import editions

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
