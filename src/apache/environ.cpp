// SPDX-License-Identifier: Apache-2.0
// request_rec → protocol::RequestHead (see environ.h). The seam where httpd strings become ours.
#include "apache/environ.h"

#include <algorithm>
#include <iterator>
#include <string>
#include <string_view>
#include <vector>

#include "apache/environ_rules.h"
#include "apache/httpd_includes.h"
#include "apache/jail_path.h"
#include "apache/request_ids.h"
#include "common/hook_result.h"
#include "protocol/request_flags.h"

namespace wsgid::apache {

namespace {

/// CGI variables a request gets besides its headers; sizes the environ up front.
constexpr std::size_t kCgiVariableCount = 32;

std::string_view flagText(bool on) noexcept {
    return on ? "1" : "0";
}

/// Environ keys only the module sets (hook calls): a SetEnv or RewriteRule [E=] variable of this
/// prefix never reaches the daemon.
constexpr std::string_view kReservedPrefix = "mod_wsgid.";

std::string requestId(const request_rec* r) {
    if (r->log_id != nullptr && *r->log_id != '\0') {
        return r->log_id;
    }
    return nextRequestId();
}

/// Appends CGI variables, remembering keys so later sources cannot shadow them.
class EnvironBuilder {
public:
    explicit EnvironBuilder(std::vector<protocol::EnvEntry>& env) : env_(env) {}

    void add(std::string_view key, std::string_view value) { env_.emplace_back(key, value); }
    void add(std::string_view key, const char* value) {
        if (value != nullptr) {
            env_.emplace_back(key, value);
        }
    }
    void add(std::string key, std::string value) {
        env_.emplace_back(std::move(key), std::move(value));
    }

    /// Adds a request header; a header that occurs twice (mod_headers "RequestHeader add")
    /// is folded into one entry as HTTP allows: Cookie with "; ", anything else with ", ".
    /// Header entries start at index `first` (a linear scan: requests carry few headers).
    void addHeader(std::size_t first, std::string key, std::string_view value) {
        for (std::size_t i = first; i < env_.size(); ++i) {
            if (env_[i].first == key) {
                env_[i].second.append(key == "HTTP_COOKIE" ? "; " : ", ");
                env_[i].second.append(value);
                return;
            }
        }
        env_.emplace_back(std::move(key), std::string(value));
    }

    /// Adds the entries of `table` whose keys are not in the environ yet. `table`'s strings
    /// live in a request pool, so views of them stay valid for this call.
    void addMissing(const apr_table_t* table) {
        if (table == nullptr) {
            return;
        }
        // The keys so far, sorted and searched: one allocation per request, where a hash set
        // would allocate a node per key. Views into env_, which stays untouched until the end.
        std::vector<std::string_view> taken(env_.size());
        std::transform(env_.begin(), env_.end(), taken.begin(),
                       [](const protocol::EnvEntry& e) { return std::string_view(e.first); });
        std::sort(taken.begin(), taken.end());
        std::vector<protocol::EnvEntry> extra;
        const apr_array_header_t* arr = apr_table_elts(table);
        const auto* elts = reinterpret_cast<const apr_table_entry_t*>(arr->elts);
        for (int i = 0; i < arr->nelts; ++i) {
            if (elts[i].key == nullptr || elts[i].val == nullptr || *elts[i].key == '\0' ||
                std::string_view(elts[i].key).starts_with(kReservedPrefix)) {
                continue;
            }
            const std::string_view key(elts[i].key);
            // A key the table itself holds twice: the first one counts (a table has few keys).
            if (std::binary_search(taken.begin(), taken.end(), key) ||
                std::any_of(extra.begin(), extra.end(),
                            [key](const protocol::EnvEntry& e) { return e.first == key; })) {
                continue;
            }
            extra.emplace_back(key, elts[i].val);
        }
        std::move(extra.begin(), extra.end(), std::back_inserter(env_));
    }

private:
    std::vector<protocol::EnvEntry>& env_;
};

/// REDIRECT_URL, REDIRECT_QUERY_STRING and REDIRECT_REMOTE_USER of a request httpd redirected
/// internally (ErrorDocument, a Location: of a 200, mod_rewrite), as CGI and mod_wsgi show them:
/// the URL that was asked for, qualified when QualifyRedirectURL is On.
void addRedirectVariables(EnvironBuilder& env, request_rec* r) {
    const request_rec* prev = r->prev;
    if (prev == nullptr) {
        return;
    }
    if (r->user == nullptr) {
        for (const request_rec* back = prev; back != nullptr; back = back->prev) {
            if (back->user != nullptr) {
                env.add("REDIRECT_REMOTE_USER", back->user);
                break;
            }
        }
    }
    const auto* core =
        static_cast<const core_dir_config*>(ap_get_core_module_config(r->per_dir_config));
    if (core != nullptr && core->qualify_redirect_url == AP_CORE_CONFIG_ON) {
        apr_uri_t uri = prev->parsed_uri;  // a copy: the earlier request's stays as it was
        if (uri.scheme == nullptr) {
            uri.scheme = const_cast<char*>(ap_http_scheme(prev));
        }
        if (uri.port == 0) {
            uri.port = ap_get_server_port(prev);
            uri.port_str = apr_psprintf(r->pool, "%u", static_cast<unsigned>(uri.port));
        }
        if (uri.hostname == nullptr) {
            uri.hostname =
                const_cast<char*>(ap_get_server_name_for_url(const_cast<request_rec*>(prev)));
        }
        env.add("REDIRECT_URL", apr_uri_unparse(r->pool, &uri, 0));
    } else {
        env.add("REDIRECT_URL", prev->uri);
    }
    env.add("REDIRECT_QUERY_STRING", prev->args);
}

}  // namespace

protocol::RequestHead buildRequestHead(request_rec* r, RequestRouting&& routing) {
    protocol::RequestHead head;
    if (!routing.hookScript.empty()) {
        head.scriptFilename = routing.hookScript;
    } else if (!routing.handlerScript.empty()) {
        head.scriptFilename = routing.handlerScript;
    } else {
        head.scriptFilename = r->filename != nullptr ? r->filename : "";
    }
    if (!routing.jail.empty()) {
        head.scriptFilename = pathInJail(routing.jail, head.scriptFilename).value_or("");
    }
    head.callableObject = std::move(routing.callableObject);
    head.applicationGroup = std::move(routing.applicationGroup);
    head.processGroup = std::move(routing.processGroup);
    head.contentLength = routing.contentLength;
    head.receivedAtUs = static_cast<std::int64_t>(r->request_time);
    head.requestId = requestId(r);

    const apr_array_header_t* headers = apr_table_elts(r->headers_in);
    const apr_array_header_t* subEnv =
        r->subprocess_env != nullptr ? apr_table_elts(r->subprocess_env) : nullptr;
    head.environ.reserve(kCgiVariableCount + static_cast<std::size_t>(headers->nelts) +
                         (subEnv != nullptr ? static_cast<std::size_t>(subEnv->nelts) : 0));
    EnvironBuilder env(head.environ);

    const char* scheme = ap_http_scheme(r);
    env.add("GATEWAY_INTERFACE", "CGI/1.1");
    env.add("SERVER_SOFTWARE", ap_get_server_banner());
    env.add("SERVER_NAME", ap_get_server_name_for_url(r));
    env.add("SERVER_PORT", std::to_string(ap_get_server_port(r)));
    env.add("SERVER_ADDR", r->connection->local_ip);
    env.add("SERVER_ADMIN", r->server->server_admin);
    env.add("SERVER_PROTOCOL", r->protocol);
    env.add("REQUEST_SCHEME", scheme);
    if (scheme != nullptr && std::string_view(scheme) == "https") {
        env.add("HTTPS", "on");
    }
    if (routing.requestMethod.empty()) {
        env.add("REQUEST_METHOD", r->method);
    } else {
        env.add("REQUEST_METHOD", std::string_view(routing.requestMethod));
    }
    env.add("REQUEST_URI", r->unparsed_uri);
    // mod_wsgi.script_name/path_info keep the values before any proxy header rewrote them.
    env.add("mod_wsgi.script_name", std::string_view(routing.scriptName));
    env.add("mod_wsgi.path_info", std::string_view(routing.pathInfo));
    env.add("SCRIPT_NAME", std::move(routing.scriptName));
    env.add("PATH_INFO", std::move(routing.pathInfo));
    env.add("QUERY_STRING", r->args != nullptr ? r->args : "");
    if (routing.jail.empty()) {
        env.add("SCRIPT_FILENAME", r->filename);
        env.add("DOCUMENT_ROOT", ap_document_root(r));
    } else {
        // As mod_wsgi: the paths the chrooted daemon sees; one outside the jail is left out.
        if (auto inside = pathInJail(routing.jail, r->filename != nullptr ? r->filename : "")) {
            env.add("SCRIPT_FILENAME", std::move(*inside));
        }
        if (auto inside = pathInJail(routing.jail, ap_document_root(r))) {
            env.add("DOCUMENT_ROOT", std::move(*inside));
        }
    }
    env.add("CONTEXT_PREFIX", ap_context_prefix(r));
    env.add("CONTEXT_DOCUMENT_ROOT", ap_context_document_root(r));
    env.add("REMOTE_ADDR", r->useragent_ip);
    const apr_sockaddr_t* peer =
        r->useragent_addr != nullptr ? r->useragent_addr : r->connection->client_addr;
    if (peer != nullptr) {
        env.add("REMOTE_PORT", std::to_string(peer->port));
    }
    // Only a name httpd already knows (HostnameLookups); never a DNS lookup of our own.
    env.add("REMOTE_HOST", ap_get_useragent_host(r, REMOTE_HOST, nullptr));
    env.add("REMOTE_USER", r->user);
    env.add("AUTH_TYPE", r->ap_auth_type);
    addRedirectVariables(env, r);
    env.add("CONTENT_TYPE", apr_table_get(r->headers_in, "Content-Type"));
    env.add("CONTENT_LENGTH", apr_table_get(r->headers_in, "Content-Length"));
    env.add("mod_wsgi.handler_script", std::string_view(routing.handlerScript));
    env.add("mod_wsgi.request_handler", r->handler);
    // Microseconds since the epoch (mod_wsgi 4/5): when httpd read the request line, and when
    // the request left for the daemon (the daemon adds mod_wsgi.daemon_start).
    env.add("mod_wsgi.request_start", std::to_string(r->request_time));
    env.add("mod_wsgi.queue_start", std::to_string(apr_time_now()));
    env.add("SERVER_SIGNATURE", ap_psignature("", r));
    if (!routing.hook.empty()) {
        env.add(common::kHookKey, std::string_view(routing.hook));
        for (auto& [key, value] : routing.hookArgs) {
            env.add(std::move(key), std::move(value));
        }
    }
    env.add(protocol::kScriptReloadingKey, flagText(routing.scriptReloading));
    env.add(protocol::kEnableSendfileKey, flagText(routing.enableSendfile));
    env.add(protocol::kIgnoreActivityKey, flagText(routing.ignoreActivity));

    const auto* hdrs = reinterpret_cast<const apr_table_entry_t*>(headers->elts);
    const std::size_t firstHeader = head.environ.size();
    for (int i = 0; i < headers->nelts; ++i) {
        if (hdrs[i].key == nullptr || hdrs[i].val == nullptr) {
            continue;
        }
        if (auto key = environKeyForHeader(hdrs[i].key, routing.passAuthorization)) {
            env.addHeader(firstHeader, std::move(*key), hdrs[i].val);
        }
    }
    env.addMissing(r->subprocess_env);
    applyProxyHeaders(head.environ, routing.proxyTrust);
    return head;
}

}  // namespace wsgid::apache
