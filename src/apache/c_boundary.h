// SPDX-License-Identifier: Apache-2.0
// The one way C-called code of this module (hooks, directive handlers, pool cleanups, APR and
// provider callbacks) turns an escaping C++ exception into a log line and a C failure value.
// No httpd headers here: the loggers are defined in c_boundary.cpp.
#pragma once

#include <exception>
#include <string_view>
#include <utility>

struct request_rec;

namespace wsgid::apache {

/// Runs `fn` and returns its result; if it throws, calls `onException(what)` (the exception's
/// what(), or "unknown exception") and returns `failure`. `onException` must not throw: it logs.
/// Every other guard of this file is built on this one.
template <typename R, typename OnException, typename Fn>
R guardedWith(OnException&& onException, R failure, Fn&& fn) noexcept {
    try {
        return std::forward<Fn>(fn)();
    } catch (const std::exception& e) {
        std::forward<OnException>(onException)(e.what());
    } catch (...) {
        std::forward<OnException>(onException)("unknown exception");
    }
    return failure;
}

/// Logs (WG0001, crit, server log) that an exception reached the C boundary `where`. Never throws.
void logEscapedException(const char* where, const char* what) noexcept;

/// Logs (WG0100, error, the request's log) that `what` failed for request `r` with the exception
/// text `message`. Never throws.
void logRequestException(request_rec* r, std::string_view what, const char* message) noexcept;

/// Runs `fn` and returns its result; if it throws, logs WG0001 and returns `failure`. Every hook,
/// directive handler, pool cleanup and APR callback of the module wraps its body in this (or in
/// guardedRequest when it has a request).
template <typename R, typename Fn>
R guarded(const char* where, R failure, Fn&& fn) noexcept {
    return guardedWith([where](const char* what) { logEscapedException(where, what); }, failure,
                       std::forward<Fn>(fn));
}

/// guarded() for callbacks that return nothing.
template <typename Fn>
void guardedVoid(const char* where, Fn&& fn) noexcept {
    (void)guarded(where, false, [&fn] {
        std::forward<Fn>(fn)();
        return true;
    });
}

/// guarded() for code that serves request `r`: an exception is logged against the request
/// (WG0100, "<what> failed: ...") and `failure` returned.
template <typename R, typename Fn>
R guardedRequest(request_rec* r, std::string_view what, R failure, Fn&& fn) noexcept {
    return guardedWith([r, what](const char* message) { logRequestException(r, what, message); },
                       failure, std::forward<Fn>(fn));
}

}  // namespace wsgid::apache
