"""Dates and times read one way per language on every page: Babel's medium format, never the US short one."""
from __future__ import annotations

import re
from datetime import UTC, date, datetime, time

import pytest
from babel.dates import format_date, format_datetime
from sqlalchemy import select

from matchmaker.extensions import db
from matchmaker.models import MatchmakingSession, User

SHORT_DATE = re.compile(r"\b\d{1,2}/\d{1,2}/\d{2,4}\b")  # 12/5/26 (en), 05/12/2026 (fr), 5/12/26 (es)


def _page(client, url: str, language: str) -> str:
    from flask_babel import refresh

    client.post("/language", data={"language": language})
    refresh()  # the test's own application context outlives the requests, and Flask-Babel keeps the locale there
    return client.get(url).get_data(as_text=True)


@pytest.mark.parametrize("language", ["en", "fr", "es"])
def test_dashboard_report_and_account_use_the_medium_format(app, make, language, signed_in):
    from matchmaker.api.tokens import create_token
    from matchmaker.services.report_cache import cached_report

    facilitator = make.user("facilitator")
    token, _secret = create_token(facilitator, "laptop")
    token.last_used_at = datetime(2026, 12, 5, 12, 8, tzinfo=UTC)
    db.session.commit()
    client = signed_in(facilitator)
    with app.test_request_context():
        generated = cached_report(public=False).generated_at
    for url in ("/dashboard/", "/reports/", "/account"):
        text = re.sub(r"<[^>]+>", " ", _page(client, url, language))
        assert not SHORT_DATE.search(text), (url, SHORT_DATE.search(text).group(0))
    account = _page(client, "/account", language)
    assert format_datetime(token.last_used_at, "medium", tzinfo=UTC, locale=language) in account
    dashboard = _page(client, "/dashboard/", language)
    # Computed a moment ago: the medium form of the date (the time may have moved on by a second) is on the page.
    assert format_date(generated, "medium", locale=language) in dashboard


def test_a_session_date_reads_like_every_other_date(app, make, signed_in):
    facilitator = make.user("facilitator")
    session = MatchmakingSession(title="Payments clinic", policy_areas=[], date=date(2026, 12, 7), start_time=time(10),
                                 time_zone="Europe/Zurich", mode="online", link="https://meet.example.org/x",
                                 slot_minutes=20, rounds=6, tables=2, status="planning", created_by=facilitator)
    db.session.add(session)
    db.session.commit()
    client = signed_in(db.session.scalar(select(User).where(User.id == facilitator.id)))
    page = client.get(f"/sessions/{session.id}").get_data(as_text=True)
    assert "Dec 7, 2026, 10:00\u202fAM–12:00\u202fPM (Europe/Zurich)" in page
    assert "Monday" not in page
    french = _page(client, f"/sessions/{session.id}", "fr")
    assert "7 déc. 2026, 10:00–12:00 (Europe/Zurich)" in french
