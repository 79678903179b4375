# SPDX-License-Identifier: Apache-2.0
# WSGIAuthUserScript, WSGIAuthGroupScript and WSGIAccessScript in one: a small user table.
# "carol" answers with a new user name; "boom" raises; "probe" records where the hook ran.
import hashlib
import json
import os

USERS = {"alice": "wonderland", "bob": "builder", "probe": "probe"}
GROUPS = {"alice": ["admins", "staff"], "bob": ["staff"]}


# The test server's state directory: <root>/apps/auth/auth.wsgi -> <root>/state.
STATE = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(__file__))), "state")


def record(environ, name):
    marker = os.path.join(STATE, "probe-%s.json" % name)
    with open(marker, "w") as f:
        json.dump({"pid": os.getpid(), "keys": sorted(environ),
                   "process_group": environ.get("mod_wsgi.process_group"),
                   "application_group": environ.get("mod_wsgi.application_group")}, f)


def check_password(environ, user, password):
    if user == "probe":
        record(environ, "check_password")
    if user == "carol":
        return "carol-renamed" if password == "any" else False
    if user == "boom":
        raise RuntimeError("auth script failure")
    if user not in USERS:
        return None
    return USERS[user] == password


def get_realm_hash(environ, user, realm):
    if user not in USERS:
        return None
    return hashlib.md5(("%s:%s:%s" % (user, realm, USERS[user])).encode()).hexdigest()


def groups_for_user(environ, user):
    return GROUPS.get(user, [])


def allow_access(environ, host):
    query = environ.get("QUERY_STRING", "")
    if "deny" in query:
        return False
    if "undecided" in query:
        return None
    return host in ("127.0.0.1", "localhost", "::1")
