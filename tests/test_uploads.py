"""Each page's size limit holds before anything reads the body, the CSRF check included (CSRF on, as in production):
the import pages take the 10 MB they announce, every other page 2 MB, and a larger upload gets a clear message."""
from __future__ import annotations

import io

from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from tests.helpers import csrf_token

MB = 1024 * 1024
HEADER = "title,description,language,policy_areas,support_kinds,delivery_languages\n"


class CountingStream(io.BytesIO):
    """A request body that counts what the server read of it."""

    read_bytes = 0

    def read(self, size=-1):
        data = super().read(size)
        self.read_bytes += len(data)
        return data

    def readline(self, size=-1):
        data = super().readline(size)
        self.read_bytes += len(data)
        return data


def test_an_import_page_takes_a_file_between_2_and_10_mb(csrf_app, make, signed_in):
    client = signed_in(make.user("partner", organisation=make.organisation("ITC")))
    token = csrf_token(client.get("/imports/offerings/csv").get_data(as_text=True))
    row = "Offering,Advice on e-signature laws for regulators in the region,en,e_transactions,legal_advice,en\n"
    content = (HEADER + row * (3 * MB // len(row))).encode()
    assert 2 * MB < len(content) < 10 * MB
    # Encoded here in memory: the test client would spool a body this large to a temporary file it never closes.
    boundary, body = encode_multipart({"csrf_token": token, "file": FileStorage(io.BytesIO(content), "o.csv")})
    response = client.post("/imports/offerings/csv", data=body,
                           content_type=f"multipart/form-data; boundary={boundary}")
    text = response.get_data(as_text=True)
    assert response.status_code != 413 and "larger than" not in text and "Send less than" not in text
    assert response.status_code in (200, 302, 422)  # checked by the import: previewed or its rows' problems shown


def test_larger_uploads_are_refused_with_the_pages_limit_before_the_body_is_read(csrf_app, make, signed_in):
    client = signed_in(make.user("partner", organisation=make.organisation("ITC")))
    for path, size, limit in (("/imports/offerings/csv", 11 * MB, "10 MB"), ("/imports/offerings/iati", 11 * MB,
                                                                             "10 MB"),
                              ("/offerings/new", 3 * MB, "2 MB"), ("/account", 3 * MB, "2 MB")):
        body = CountingStream(b"-" * size)
        response = client.post(path, input_stream=body, content_type="multipart/form-data; boundary=x",
                               headers={"Content-Length": str(size)})
        assert response.status_code == 413, path
        assert f"The upload is larger than {limit}, the most this page takes." in response.get_data(as_text=True)
        assert body.read_bytes == 0, (path, body.read_bytes)
    api = client.post("/api/v1/offerings", input_stream=CountingStream(b"{" * (3 * MB)),
                      content_type="application/json",
                      headers={"Content-Length": str(3 * MB), "Authorization": "Bearer x"})
    assert api.status_code == 413 and "larger than 2 MB" in api.get_json()["message"]
