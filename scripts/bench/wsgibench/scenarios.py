# SPDX-License-Identifier: Apache-2.0
"""The benchmark's scenarios: which app each target serves, the request wrk sends, the exact answer
a correct server gives, and how Apache serves the same bytes by itself (the ceiling)."""

import json
import os

MIB = 1024 * 1024

# The JSON document the Flask and Django views return.
JSON_DOC = {"message": "Hello, World!"}


def postBody(size):
    """The POST body bench.lua sends for `size` bytes, rebuilt here to check the echo."""
    return b"0123456789abcdef" * (size // 16) + b"x" * (size % 16)


# The bytes each scenario answers with; the apps build the same ones (apps/*.wsgi).
HELLO = b"Hello world!"
BODY_64K = bytes(range(256)) * 256
YIELDS = b"0123456789abcde\n" * 1000
DATA_FILE = bytes(range(256)) * (MIB // 256)


class Scenario:
    """One benchmark case. `static` names the file (in the static dir) Apache serves as the
    ceiling, "reflector" for mod_reflector's echo, or None with `noStatic` saying why there is no
    Apache equivalent. `only` limits the targets that run it (None: all)."""

    def __init__(self, name, app, title, body, postBytes=0, static=None, noStatic=None,
                 only=None):
        self.name = name
        self.app = app
        self.title = title
        self.body = body  # exact expected body, or None: the JSON document is compared
        self.postBytes = postBytes
        self.static = static
        self.noStatic = noStatic
        self.only = only

    @property
    def method(self):
        return "POST" if self.postBytes else "GET"


SCENARIOS = [
    Scenario("hello", "hello.wsgi", "hello world (12-byte body)", HELLO, static="hello.txt"),
    Scenario("body64k", "body64k.wsgi", "64 KiB body", BODY_64K, static="body64k.bin"),
    Scenario("yields", "yields.wsgi", "1000 yields x 16 B (chunked)", YIELDS,
             static="yields.txt"),
    Scenario("file", "file.wsgi", "1 MiB wsgi.file_wrapper", DATA_FILE, static="data.bin"),
    Scenario("post", "echo.wsgi", "1 MiB POST echo", postBody(MIB), postBytes=MIB,
             static="reflector"),
    Scenario("flask", "flask_view.wsgi", "Flask route (JSON)", None,
             noStatic="a framework's view has no static equivalent"),
    Scenario("django", "django_view.wsgi", "Django view (JSON)", None,
             noStatic="a framework's view has no static equivalent"),
    Scenario("logline", "logline.wsgi", "hello world + one print() line", HELLO,
             noStatic="measures the application's log output path",
             only=("mod_wsgid", "mod_wsgid-compare", "mod_wsgi-daemon")),
]
BY_NAME = {s.name: s for s in SCENARIOS}

# The few scenarios of --quick: the smallest request, a large body each way.
QUICK = ("hello", "file", "post")


def checkBody(scenario, body):
    """None when `body` is the scenario's exact answer, else what is wrong with it."""
    if scenario.body is not None:
        if body == scenario.body:
            return None
        return (f"body of {len(body)} bytes differs from the expected {len(scenario.body)} "
                f"bytes; starts {body[:120]!r}")
    try:
        doc = json.loads(body)
    except ValueError:
        return f"not JSON: {body[:300]!r}"
    if doc != JSON_DOC:
        return f"unexpected JSON {doc!r}"
    return None


def writeData(appsDir, staticDir):
    """Writes the file the file_wrapper app sends (beside the apps) and the files Apache serves
    for the ceiling."""
    with open(os.path.join(appsDir, "data.bin"), "wb") as f:
        f.write(DATA_FILE)
    os.makedirs(staticDir, exist_ok=True)
    for name, data in (("hello.txt", HELLO), ("body64k.bin", BODY_64K),
                       ("yields.txt", YIELDS), ("data.bin", DATA_FILE)):
        with open(os.path.join(staticDir, name), "wb") as f:
            f.write(data)
