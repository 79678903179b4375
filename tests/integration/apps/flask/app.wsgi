# SPDX-License-Identifier: Apache-2.0
# A small Flask application: routes, JSON, a form POST, url_for under the mount point, 404.
import os

from flask import Flask, jsonify, request, url_for

app = Flask(__name__)


@app.route("/")
def index():
    return "Hello from Flask"


@app.route("/json")
def as_json():
    return jsonify(framework="flask", numbers=[1, 2, 3], pid=os.getpid())


@app.route("/items/<int:item_id>")
def item(item_id):
    return jsonify(item=item_id, url=url_for("item", item_id=item_id),
                   script_root=request.script_root, path=request.path)


@app.route("/form", methods=["POST"])
def form():
    return jsonify(fields=request.form.to_dict(flat=False), method=request.method,
                   content_type=request.content_type)


@app.route("/upload", methods=["POST"])
def upload():
    data = request.get_data()
    return jsonify(length=len(data))


application = app
