// SPDX-License-Identifier: Apache-2.0
// What a request must pass before it goes to its daemon group: its script inside the group's
// chroot= jail and owned as script-user=/script-group= say, and a request body framing the
// module can relay (Content-Length, or chunked under WSGIChunkedRequest On).
#include <cstdint>
#include <string_view>

#include "apache/httpd_includes.h"
// httpd_includes.h first: these headers need the APR API.
#include "apache/c_string.h"
#include "apache/config.h"
#include "apache/handler_impl.h"
#include "apache/jail_path.h"
#include "apache/routing_rules.h"

APLOG_USE_MODULE(wsgid);

namespace wsgid::apache {

bool scriptInJail(request_rec* r, const DaemonGroup& group, std::string_view script) {
    if (group.chroot.empty() || pathInJail(group.chroot, script)) {
        return true;
    }
    ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r,
                  "WG0176: WSGI script %.*s is outside the jail %s of daemon process group '%s' "
                  "(chroot=); move it inside the jail or serve it from another group",
                  static_cast<int>(script.size()), script.data(), group.chroot.c_str(),
                  group.name.c_str());
    return false;
}

int checkScriptOwner(request_rec* r, const DaemonGroup& group, const HandlerScript* handlerScript) {
    if (!group.scriptUid && !group.scriptGid) {
        return OK;
    }
    const char* script = handlerScript != nullptr ? handlerScript->script : r->filename;
    apr_finfo_t info{};
    if (handlerScript == nullptr && (r->finfo.valid & APR_FINFO_OWNER) == APR_FINFO_OWNER) {
        info = r->finfo;
    } else if (apr_stat(&info, script, APR_FINFO_OWNER, r->pool) != APR_SUCCESS) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r,
                      "WG0161: cannot read the owner of the WSGI script %s for the "
                      "script-user=/script-group= check of daemon group '%s'",
                      orEmpty(script), group.name.c_str());
        return HTTP_FORBIDDEN;
    }
    switch (scriptOwnerCheck(group.scriptUid, group.scriptGid, info.user, info.group)) {
        case ScriptOwner::Ok:
            return OK;
        case ScriptOwner::WrongUser:
            ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r,
                          "WG0161: the WSGI script %s is owned by uid %lu, not by script-user=%s "
                          "of daemon group '%s'; chown the script or change script-user=",
                          orEmpty(script), static_cast<unsigned long>(info.user),
                          group.scriptUser.c_str(), group.name.c_str());
            return HTTP_FORBIDDEN;
        case ScriptOwner::WrongGroup:
            ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r,
                          "WG0161: the WSGI script %s has gid %lu, not script-group=%s of daemon "
                          "group '%s'; chgrp the script or change script-group=",
                          orEmpty(script), static_cast<unsigned long>(info.group),
                          group.scriptGroup.c_str(), group.name.c_str());
            return HTTP_FORBIDDEN;
    }
    return HTTP_FORBIDDEN;
}

Step<std::int64_t> bodyLength(request_rec* r, const RequestConfig& conf) {
    if (const char* te = apr_table_get(r->headers_in, "Transfer-Encoding")) {
        if (ap_is_chunked(r->pool, te) == 0) {
            ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                          "WG0110: unsupported request Transfer-Encoding '%s'", te);
            return Step<std::int64_t>::stop(HTTP_NOT_IMPLEMENTED);
        }
        if (!flagValue(pickFlag(conf.dir.chunkedRequest, conf.server.chunkedRequest, Flag::Unset),
                       false)) {
            ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                          "WG0109: chunked request body refused (WSGIChunkedRequest Off) for %s",
                          orEmpty(r->filename));
            return Step<std::int64_t>::stop(HTTP_LENGTH_REQUIRED);
        }
        return {.value = -1};
    }
    if (const char* cl = apr_table_get(r->headers_in, "Content-Length")) {
        apr_off_t len = 0;
        if (ap_parse_strict_length(&len, cl) == 0) {
            ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, "WG0111: invalid Content-Length '%s'", cl);
            return Step<std::int64_t>::stop(HTTP_BAD_REQUEST);
        }
        return {.value = len};
    }
    return {.value = 0};
}

}  // namespace wsgid::apache
