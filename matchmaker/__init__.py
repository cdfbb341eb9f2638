"""TA Matchmaker: connects members that need e-commerce technical assistance with partners that offer it.

Importing this package must stay cheap and Flask-free so that ``matchmaker.engine`` can be used alone;
the web application is built by ``matchmaker.app.create_app``.
"""
