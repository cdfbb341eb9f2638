"""Every route × every role, against a table of expected statuses; a route missing from the table fails."""
from __future__ import annotations

import pytest

from matchmaker.extensions import db
from tests.helpers import login
from tests.route_matrix import LOGIN, MATRIX, ROLES, edition_of, session_of


def test_every_route_is_in_the_matrix(app):
    """Adding a route without deciding who may use it fails here."""
    routes = {(method, rule.endpoint) for rule in app.url_map.iter_rules()
              for method in rule.methods - {"HEAD", "OPTIONS"}}
    covered = {(method, endpoint) for method, endpoint, *_ in MATRIX}
    assert routes - covered == set(), "routes missing from the matrix"
    assert covered - routes == set(), "matrix names routes that do not exist"


CELLS = [(i, role) for i in range(len(MATRIX)) for role in ROLES]


@pytest.mark.parametrize("index,role", CELLS, ids=[f"{MATRIX[i][0]} {MATRIX[i][2]} {r}" for i, r in CELLS])
def test_route_role(app, world, index, role):
    method, endpoint, template, data, expected = MATRIX[index]
    client = app.test_client()
    if role != "anon":
        assert login(client, world["users"][role]).status_code == 302
    ids = world["ids"]
    for name in ("session", "held_session"):
        if "{" + name + "}" in template:
            ids = dict(ids, **session_of(world, name))
    if template.startswith("/reports/") and template != "/reports/":
        edition_of(world)
    url = template.format(**ids)
    with client.open(url, method=method, data=data) as response:
        if expected[role] == LOGIN:
            assert response.status_code == 302
            assert response.headers["Location"].startswith("/login")
        else:
            assert response.status_code == expected[role], response.get_data(as_text=True)[:300]
    db.session.remove()
