"""The seed's own app, the baseline of `make bench`: Flask's development server.

Six lines as the seed has them; only the port comes from PORT (the bench picks
a free one) and the address is loopback.
"""

import os

from flask import Flask

app = Flask(__name__)


@app.route("/version")
def version() -> str:
    return "API version: 1.0.1"


app.run(host="127.0.0.1", port=int(os.environ.get("PORT", "5000")))
