# SPDX-License-Identifier: Apache-2.0
# Benchmark app "flask": one Flask view returning a small JSON document (Debian's python3-flask).

from flask import Flask, jsonify

app = Flask("wsgid_bench_flask")


@app.route("/")
def index():
    return jsonify(message="Hello, World!")


application = app
