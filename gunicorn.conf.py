"""gunicorn's settings (read from the folder it starts in): the app is loaded once, warmed, then forked.

Loading first (``preload_app``) lets every worker start warm: the lexicons, the glossary, the matching index
saved in MATCH_INDEX_DIR and the dashboard's report are read or computed once, in the master, and each worker
starts with them (shared pages of memory until written). Database connections are not shared across the fork.
"""
preload_app = True


def when_ready(server):
    """In the master, before the first worker is forked."""
    from matchmaker.warm import settle_memory, warm_up
    from wsgi import app

    warm_up(app)
    settle_memory()
    server.log.info("matchmaker: warmed; workers start from here")


def post_fork(server, worker):
    from matchmaker.extensions import db
    from matchmaker.warm import warm_worker
    from wsgi import app

    with app.app_context():
        db.engine.dispose(close=False)      # the master's pooled connections stay the master's
    warm_worker(app)                        # what a fork cannot share (Argon2's memory), before the first request
