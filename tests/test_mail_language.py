"""Account e-mails (invitation, password reset) go out in the recipient's language, not the sender's."""
from __future__ import annotations

from email import message_from_bytes, policy

import pytest

from tests.helpers import wait_for


def _read(envelope):
    return message_from_bytes(envelope.content, policy=policy.default)


@pytest.mark.parametrize("language, subject", [("es", "Restablezca"), ("fr", "Réinitialis"), ("en", "Reset")])
def test_reset_mail_in_the_account_language(app, make, smtp_server, language, subject):
    user = make.user("partner", organisation=make.organisation(), language=language)
    client = app.test_client()
    client.post("/reset", data={"email": user.email}, headers={"Accept-Language": "de"})
    message = _read(wait_for(smtp_server)[0])
    assert message["Subject"].startswith(subject), message["Subject"]


def test_invitation_in_the_invitee_language(app, make, smtp_server, signed_in):
    admin = make.user("admin", language="en")
    client = signed_in(admin)
    response = client.post("/admin/users/invite", data={
        "email": "nuevo@mincetur.example", "name": "Nuevo Delegado", "role": "delegate", "language": "es",
        "member": str(make.member("PE").id)})
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    message = _read(wait_for(smtp_server)[0])
    assert message["To"] == "nuevo@mincetur.example"
    assert "Admin" not in message["Subject"] and "TA Matchmaker" in message["Subject"]
    assert message["Subject"] == "Invitación a TA Matchmaker"
    assert "comercio electrónico" in message.get_content()
