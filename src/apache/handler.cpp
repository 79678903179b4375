// SPDX-License-Identifier: Apache-2.0
// The content handler inside httpd children: the hook entry point that takes a request through
// its steps (handler_impl.h, defined in request_resolution, group_resolution, request_checks,
// relay_to_daemon and daemon_hooks), and the per-child state that child_init sets up.
#include "apache/handler.h"

#include <atomic>
#include <cstdint>
#include <cstring>
#include <memory>
#include <utility>

#include "apache/httpd_includes.h"
// httpd_includes.h first: these headers need the APR API.
#include "apache/apr_raii.h"
#include "apache/c_boundary.h"
#include "apache/c_string.h"
#include "apache/config.h"
#include "apache/environ.h"
#include "apache/handler_impl.h"
#include "apache/relay_finish.h"
#include "apache/script_alias_mapping.h"
#include "protocol/request_head.h"

APLOG_USE_MODULE(wsgid);

namespace wsgid::apache {

std::atomic<ChildState*> gChildState{nullptr};

namespace {

constexpr const char* kWsgiMimeHandler = "application/x-httpd-wsgi";

apr_status_t clearChildState(void* /*unused*/) noexcept {
    gChildState.store(nullptr);
    return APR_SUCCESS;
}

bool isWsgiHandler(const request_rec* r) noexcept {
    return r->handler != nullptr && (std::strcmp(r->handler, kWsgiScriptHandler) == 0 ||
                                     std::strcmp(r->handler, kWsgiMimeHandler) == 0);
}

/// What a request takes to its daemon once every check has passed.
struct PreparedRequest {
    PreparedRequest(ChildState& childState, const DaemonGroup& daemonGroup,
                    const RequestConfig& config, InFlightTicket&& counted) noexcept
        : child(childState), group(daemonGroup), conf(config), ticket(std::move(counted)) {}

    ChildState& child;
    const DaemonGroup& group;
    const RequestConfig conf;
    const InFlightTicket ticket;  ///< counts the request for as long as it runs
    protocol::RequestHead head;
};
using Prepared = Step<std::unique_ptr<PreparedRequest>>;

/// Every step of a request before the relay: DECLINED, an error status, or the request ready to
/// relay. Out of line, and its result on the heap, so that its frame has gone by the time the
/// relay runs: the relay and the response's filters then run that much higher on the worker's
/// stack, and each page the deepest request reaches stays resident in every worker thread
/// (docs/performance.md "Memory").
[[gnu::noinline]] Prepared prepareRequest(request_rec* r) {
    const HandlerScript* handlerScript = nullptr;
    if (!isWsgiHandler(r)) {
        handlerScript = findHandlerScript(r);
        if (handlerScript == nullptr) {
            return Prepared::stop(DECLINED);
        }
    }
    ChildState* child = gChildState.load();
    if (child == nullptr || child->registry == nullptr) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r,
                      "WG0102: mod_wsgid was not initialised in this httpd child");
        return Prepared::stop(HTTP_INTERNAL_SERVER_ERROR);
    }
    const auto* note = handlerScript != nullptr ? nullptr : routeNoteOf(r);
    Step<ScriptPath> path = resolveScript(r, note, handlerScript != nullptr);
    if (!path.value) {
        return Prepared::stop(path.status);
    }
    const RequestConfig conf = requestConfigOf(r, note, handlerScript);
    Step<Route> route = resolveRoute(r, *child->registry, conf, std::move(*path.value));
    if (!route.value) {
        return Prepared::stop(route.status);
    }
    if (conf.dir.dispatchScript != nullptr) {
        // Only requests under a WSGIDispatchScript pay for its round trip.
        if (const int dispatched = applyDispatchScript(r, *child->registry, conf, *route.value);
            dispatched != OK) {
            return Prepared::stop(dispatched);
        }
    }
    if (const int owner = checkScriptOwner(r, *route.value->group, handlerScript); owner != OK) {
        return Prepared::stop(owner);
    }
    if (!scriptInJail(r, *route.value->group,
                      handlerScript != nullptr ? handlerScript->script : orEmpty(r->filename))) {
        return Prepared::stop(HTTP_INTERNAL_SERVER_ERROR);
    }
    route.value->routing.jail = route.value->group->chroot;
    const Step<std::int64_t> length = bodyLength(r, conf);
    if (!length.value) {
        return Prepared::stop(length.status);
    }
    route.value->routing.contentLength = *length.value;
    const DaemonGroup& group = *route.value->group;
    // Counted for as long as the request runs (docs/architecture.md "Fair share").
    auto prepared =
        std::make_unique<PreparedRequest>(*child, group, conf, child->inFlight.enter(r, group));
    if (!prepared->ticket.admitted()) {
        return Prepared::stop(groupBusy(r));
    }
    prepared->head = buildRequestHead(r, std::move(route.value->routing));
    return {.value = std::move(prepared), .status = OK};
}

int handleRequestImpl(request_rec* r) {
    Prepared prepared = prepareRequest(r);
    if (!prepared.value) {
        return prepared.status;
    }
    const PreparedRequest& request = **prepared.value;
    return relayToDaemon(r, request.child, request.group, request.head, request.conf);
}

}  // namespace

int handleRequest(request_rec* r) noexcept {
    return guardedRequest(r, "handler", HTTP_INTERNAL_SERVER_ERROR,
                          [r] { return handleRequestImpl(r); });
}

void childInit(apr_pool_t* pchild, server_rec* s) noexcept {
    const auto failed = [s](const char* what) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, 0, s, "WG0123: child initialisation failed: %s", what);
    };
    (void)guardedWith(failed, false, [&] {
        auto state = std::make_unique<ChildState>(GroupRegistry::get(s->process->pconf), s);
        ChildState* raw = attachToPool(pchild, std::move(state));
        // Registered after attachToPool, so (cleanups run in reverse order) the pointer is
        // cleared before the state is deleted.
        apr_pool_cleanup_register(pchild, nullptr, clearChildState, apr_pool_cleanup_null);
        gChildState.store(raw);
        return true;
    });
}

}  // namespace wsgid::apache
