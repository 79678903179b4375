# SPDX-License-Identifier: Apache-2.0
# One of a directory of scripts: answers its name, SCRIPT_NAME, PATH_INFO and SCRIPT_FILENAME.
import json


def application(environ, start_response):
    body = json.dumps({"script": "second", "SCRIPT_NAME": environ["SCRIPT_NAME"],
                       "PATH_INFO": environ.get("PATH_INFO", ""),
                       "SCRIPT_FILENAME": environ["SCRIPT_FILENAME"]}).encode()
    start_response("200 OK", [("Content-Type", "application/json")])
    return [body]
