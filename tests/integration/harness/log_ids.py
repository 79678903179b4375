# SPDX-License-Identifier: Apache-2.0
"""Message ids (from src/) that tests expecting a failure allowlist in the error log. Ids, never
text: the wording may change, the id of an event does not. 01xx: the module, 02xx: the daemon,
03xx: the Python layer."""

# The module relays a daemon Error frame that came before the response start (-> 5xx).
_MODULE_FAILED_BEFORE_START = "WG0113"
# The module aborts the client connection: the response failed after its headers.
_MODULE_FAILED_AFTER_START = "WG0114"
# The daemon connection broke before a response (-> 502).
_MODULE_DAEMON_BROKE = "WG0115"

# The app raised (traceback lines carry the same id).
APP_ERROR_IDS = ("WG0330", _MODULE_FAILED_BEFORE_START, _MODULE_FAILED_AFTER_START)
# Invalid status or headers from the app.
INVALID_RESPONSE_IDS = ("WG0331", _MODULE_FAILED_BEFORE_START)
# Fewer bytes than the app's own Content-Length.
SHORT_RESPONSE_IDS = ("WG0332", _MODULE_FAILED_AFTER_START)
# The client went away mid-response (logged at info; listed for clarity).
CLIENT_GONE_IDS = ("WG0119", "WG0333")
# An app thread still used its ended request's connection past the grace time: the daemon shut
# the connection down under it (warning), and the module aborted the client connection.
FENCE_INTERRUPT_IDS = ("WG0337", _MODULE_FAILED_AFTER_START)
# wsgi.errors, sys.stdout and sys.stderr of the app.
APP_LOG_IDS = ("WG0310", "WG0311", "WG0312")
# The daemon group's socket cannot be reached (-> 503).
UNREACHABLE_IDS = ("WG0112",)
# A daemon died under a request: the module's 502.
DAEMON_LOST_IDS = (_MODULE_DAEMON_BROKE,)
# The parent's record of a daemon's death (exit status or signal).
DAEMON_DIED_IDS = ("WG0033", "WG0036")
# A daemon that could not start: its own reason (crit) and the parent's backoff record.
STARTUP_FAILED_IDS = ("WG0257", "WG0035")
# A daemon refused a connection that did not prove it comes from an httpd child of this server.
REFUSED_PEER_IDS = ("WG0219",)
# A daemon dropped a connection that sent no valid Hello in time.
HANDSHAKE_TIMEOUT_IDS = ("WG0274",)
# A daemon broke the response framing: more (or fewer) body bytes than the response announced
# (-> 502, or the client connection aborted), a malformed or out-of-order frame before the
# response reached the client (-> 502) or after (-> aborted), bytes after the end of a response
# (the daemon connection is closed).
FORGED_FRAMING_IDS = ("WG0125", "WG0117", "WG0126")
# A daemon group had no free worker within the request's queue-timeout: the module's 503 with
# Retry-After (WG0130, a warning), and the daemon's record of queued requests it answered so
# (WG0281).
QUEUE_TIMEOUT_IDS = ("WG0130", "WG0281")
