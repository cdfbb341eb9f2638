"""No input gives a 500 or loses data: every form, with empty, huge, NUL, wrong-typed, unknown and forged values."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from matchmaker.extensions import db
from matchmaker.models import AuditEvent, Need, Offering, Organisation, User
from tests.helpers import login
from tests.samples import NEED_FORM as NEED
from tests.samples import OFFERING_FORM as OFFERING
from tests.samples import mutations_of


def _signature(model):
    rows = db.session.scalars(select(model).order_by(model.id)).all()
    return [(r.id, r.title, r.description, r.status, r.version) for r in rows]


@pytest.mark.parametrize("kind", ["need_create", "need_edit", "offering_create", "offering_edit"])
def test_hostile_form_posts_never_500_and_never_corrupt(app, make, kind):
    org = make.organisation()
    delegate = make.user("delegate", member="BJ")
    partner = make.user("partner", organisation=org)
    need = make.need("BJ", "open")
    offering = make.offering(org, "draft")
    client = app.test_client()
    if kind.startswith("need"):
        login(client, delegate)
        url, valid, model = ("/needs/new" if kind == "need_create" else f"/needs/{need.id}/edit"), NEED, Need
    else:
        login(client, partner)
        url = "/offerings/new" if kind == "offering_create" else f"/offerings/{offering.id}/edit"
        valid, model = OFFERING, Offering
    checked = 0
    for label, data in mutations_of(valid):
        before = _signature(model)
        response = client.post(url, data=data)
        assert response.status_code in (302, 422), (label, response.status_code)
        if response.status_code == 422:
            db.session.expire_all()
            assert _signature(model) == before, label
            assert response.mimetype == "text/html"
        checked += 1
    assert checked > 100


def test_invalid_utf8_and_wrong_content_types(app, make, signed_in):
    client = signed_in(make.user("delegate", member="BJ"))
    raw = client.post("/needs/new", data=b"title=%FF%FE%00&description=\xff\xfe",
                      content_type="application/x-www-form-urlencoded")
    assert raw.status_code == 422
    as_json = client.post("/needs/new", json={"title": ["nested"], "policy_areas": {"a": 1}})
    assert as_json.status_code == 422
    multipart = client.post("/needs/new", data={"title": "x", "file": (__import__("io").BytesIO(b"\x00" * 100),
                                                                       "a.bin")},
                            content_type="multipart/form-data")
    assert multipart.status_code == 422
    assert db.session.scalar(select(func.count(Need.id))) == 0


def test_nul_characters_are_refused_with_a_message(app, make, signed_in):
    client = signed_in(make.user("delegate", member="BJ"))
    response = client.post("/needs/new", data=dict(NEED, title="Bad\x00title here"))
    assert response.status_code == 422
    assert "invisible control characters" in response.get_data(as_text=True)


def test_forged_ids_and_foreign_keys(app, make, signed_in):
    """Ids that do not exist, or belong to someone else, are refused without a 500."""
    admin = make.user("admin")
    client = signed_in(admin)
    for member in ("999999", "-1", "abc", "1 OR 1=1"):
        response = client.post("/admin/users/invite", data={"email": "n@example.org", "name": "N", "role": "delegate",
                                                             "member": member, "language": "en"})
        assert response.status_code == 422, member
    assert db.session.scalar(select(User).where(User.email == "n@example.org")) is None
    for url in ("/needs/99999999999999999999", "/offerings/2147483648", "/admin/users/0", "/needs/-1"):
        assert client.get(url).status_code == 404, url


def test_admin_forms_validate(app, make, signed_in):
    admin = make.user("admin")
    client = signed_in(admin)
    make.organisation("ITU")
    duplicate = client.post("/admin/organisations/new", data={"name": "Another name", "acronym": "itu",
                                                               "kind": "intergovernmental"})
    assert duplicate.status_code == 422 and "already has this name" in duplicate.get_data(as_text=True)
    bad_url = client.post("/admin/organisations/new", data={"name": "X org", "acronym": "XO", "kind": "ngo",
                                                             "website": "javascript:alert(1)"})
    assert bad_url.status_code == 422 and "Enter a web address such as https://www.example.org." in \
        bad_url.get_data(as_text=True)
    unknown_kind = client.post("/admin/organisations/new", data={"name": "Y org", "acronym": "YO", "kind": "cult"})
    assert unknown_kind.status_code == 422
    assert db.session.scalar(select(func.count(Organisation.id))) == 1
    # an address typed without its scheme, as people do, is taken as https
    ok = client.post("/admin/organisations/new", data={"name": "Global Forum on Cyber Expertise", "acronym": "GFCE",
                                                        "kind": "ngo", "website": "thegfce.org"})
    assert ok.status_code == 302
    assert db.session.scalar(select(Organisation.website).where(Organisation.acronym == "GFCE")) == "https://thegfce.org"
    # a service's refusal is shown by the field it is about, too
    refused = client.post("/admin/users/invite", data={"email": "d@example.org", "name": "D", "role": "delegate",
                                                        "language": "en"}).get_data(as_text=True)
    assert '<p class="error" id="member-error">A delegate must act for a member.' in refused
    # An admin cannot lock themselves out.
    response = client.post(f"/admin/users/{admin.id}", data={"name": "Me", "role": "delegate", "language": "en",
                                                              "member": str(make.member("BJ").id), "active": "y"})
    assert response.status_code == 422
    assert "cannot demote or disable your own account" in response.get_data(as_text=True)


def test_oversized_request_is_refused(app, make, signed_in):
    client = signed_in(make.user("delegate", member="BJ"))
    response = client.post("/needs/new", data=dict(NEED, description="x" * (3 * 1024 * 1024)))
    assert response.status_code == 413
    assert db.session.scalar(select(func.count(Need.id))) == 0


def test_concurrent_edit_is_detected(app, make, signed_in):
    """Two delegates save the same need: the second save, made on a stale copy, is refused with a message."""
    need = make.need("BJ", "open")
    from matchmaker.services import needs as needs_service

    first = make.user("delegate", member="BJ")
    stale_version = need.version
    needs_service.update_need(first, need, {"title": "First delegate's title"})
    db.session.commit()
    assert need.version == stale_version + 1
    client = signed_in(make.user("delegate", member="BJ"))
    response = client.post(f"/needs/{need.id}/edit", data=dict(NEED, version=str(stale_version)))
    assert response.status_code == 409
    assert "changed by someone else" in response.get_data(as_text=True)
    db.session.refresh(need)
    assert need.title == "First delegate's title"
    assert db.session.scalar(select(func.count(AuditEvent.id)).where(AuditEvent.action == "need.updated")) == 1
