"""What gunicorn serves: `gunicorn wsgi:app` (gunicorn.conf.py loads it once and warms it before forking)."""
from matchmaker.app import create_app

app = create_app()
