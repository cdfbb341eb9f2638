"""A forged form on another origin, opened by a signed-in delegate in Chromium: the browser sends the session
cookie along (another port on the same host is the same *site*), the service refuses the post for its missing
CSRF token, and nothing is written."""
from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

FORGED_TITLE = "Forged need posted from another origin"


def _attacker(live_server: str) -> ThreadingHTTPServer:
    page = f"""<!doctype html><html><body>
<form id="f" method="post" action="{live_server}/needs/new">
  <input name="title" value="{FORGED_TITLE}">
  <input name="description" value="This need was written by a page on another origin, not by the delegate.">
  <input name="language" value="en"><input name="policy_areas" value="cybersecurity">
  <input name="support_kinds" value="training"><input name="delivery_languages" value="en">
  <input name="priority" value="high">
</form>
<script>document.getElementById("f").submit();</script>
</body></html>""".encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802  (http.server's name)
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(page)))
            self.end_headers()
            self.wfile.write(page)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def test_a_cross_site_form_post_is_refused_and_writes_nothing(sign_in, live_server):
    server = _attacker(live_server)
    context = sign_in("delegate")
    try:
        page = context.new_page()
        with page.expect_response(
                lambda r: r.url == f"{live_server}/needs/new" and r.request.method == "POST") as posted:
            page.goto(f"http://127.0.0.1:{server.server_address[1]}/")
        assert posted.value.status == 400
        page.wait_for_load_state()   # the refusal page, in the delegate's language (French for the demo delegate)
        # The delegate's list of needs has no forged need, and the delegate is still signed in.
        page.goto(f"{live_server}/needs/?q=Forged")
        assert page.url.startswith(f"{live_server}/needs/")
        assert FORGED_TITLE not in page.content()
    finally:
        context.close()
        server.shutdown()
        server.server_close()
