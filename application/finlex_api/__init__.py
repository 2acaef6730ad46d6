"""The finlex API: a Flask service that reports its version, served by Granian.

- factory.py: create_app, the table of contents: settings, routes, error handlers.
- settings.py: every FINLEX_* environment variable, its default and its range.
- routes.py: the URL paths, the version, the routes and every response's headers.
- errors.py: what an error answers, and the log line of an unexpected one.
- front.py: the WSGI layer before Flask: HTTP/1.1 framing checks, the access log.
- logs.py: the JSON log lines and their batched writes.
- serve.py: the production server (the `finlex-api` command): Granian, the
  pre-stop delay and the graceful stop.

This file imports nothing: the server's main process imports settings and
serve only, and stays without Flask (10 MB less resident memory in it).
"""
