"""Role rules asked of permissions.py: the roles an inviter may give, whom an account acts for, the CLI's commands."""
from __future__ import annotations

import pytest

from matchmaker import cli
from matchmaker.errors import DomainError, NotPermitted
from matchmaker.permissions import can, invitable_roles, keeps_user_management
from matchmaker.services import accounts


@pytest.mark.parametrize("inviter, role, allowed", [
    ("facilitator", "facilitator", True), ("facilitator", "admin", False), ("admin", "admin", True),
    ("delegate", "delegate", False), ("partner", "partner", False)])
def test_who_may_give_which_role(make, inviter, role, allowed):
    actor = make.user(inviter, member="BJ" if inviter == "delegate" else None,
                      organisation=make.organisation() if inviter == "partner" else None)
    assert can(actor, "user.give_role", role) is allowed
    assert (role in invitable_roles(actor)) is allowed
    if not allowed:
        with pytest.raises(NotPermitted):
            accounts.invite_user(actor, email="new@example.org", name="New", role=role, language="en")


def test_an_account_acts_only_for_what_its_role_needs(make):
    admin = make.user("admin")
    organisation = make.organisation()
    with pytest.raises(DomainError):
        accounts.invite_user(admin, email="d@example.org", name="D", role="delegate", language="en")
    user = accounts.invite_user(admin, email="p@example.org", name="P", role="partner", language="en",
                                member=make.member("BJ"), organisation=organisation)
    assert user.organisation_id == organisation.id and user.member_id is None


def test_an_admin_keeps_user_management_for_themself(make):
    admin = make.user("admin")
    assert keeps_user_management("admin") and not keeps_user_management("facilitator")
    with pytest.raises(DomainError):
        accounts.update_user(admin, admin, role="facilitator", active=True, member=None, organisation=None,
                             name=admin.name, language="en")


def test_every_command_is_module_level_and_registered(app):
    names = {command.name for command in cli.COMMANDS}
    assert names == {"load-reference", "seed-demo", "demo-accounts", "check-deploy", "backup", "restore",
                     "create-user", "publish-report"}
    assert names <= set(app.cli.commands)


def test_a_command_runs_in_the_applications_context(runner):
    result = runner.invoke(args=["demo-accounts"])
    assert result.exit_code == 0 and "/login" in result.output
