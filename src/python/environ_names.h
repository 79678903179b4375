// SPDX-License-Identifier: Apache-2.0
// The environ names the Python layer knows before any request: the CGI variables the module
// sends, the wsgi.* and mod_wsgi.* keys, and the common request headers. Each interpreter makes
// their str keys once (python/environ_cache.h), so building an environ allocates no key for them.
// Pure: no Python here.
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace wsgid::python {

/// How an environ value's bytes become a str.
enum class ValueDecoding : unsigned char {
    Latin1,      ///< PEP 3333's native strings: one character per byte
    FileSystem,  ///< a file system path: the file system encoding, as mod_wsgi does, so
                 ///< open(environ['SCRIPT_FILENAME']) works for a non-ASCII path
};

/// One known environ name.
struct EnvironName {
    std::string_view name;
    /// Whether its value usually repeats from one request to the next (the server's own
    /// variables, a client's Accept or User-Agent): such a value's str is kept by the interpreter
    /// and reused while the bytes stay the same. False for what changes with every request
    /// (REMOTE_PORT, the request's path, its timestamps) and for credentials (HTTP_COOKIE,
    /// HTTP_AUTHORIZATION, REMOTE_USER), which must not outlive their request in a cache.
    bool valueRepeats;
    ValueDecoding decoding;
};

namespace environ_names_detail {

constexpr EnvironName repeating(std::string_view name) {
    return {name, true, ValueDecoding::Latin1};
}
constexpr EnvironName repeatingPath(std::string_view name) {
    return {name, true, ValueDecoding::FileSystem};
}
constexpr EnvironName varying(std::string_view name) {
    return {name, false, ValueDecoding::Latin1};
}

}  // namespace environ_names_detail

/// Every known name, sorted by bytes (which proves there is no duplicate). The HTTP_* names are
/// those of the headers browsers, proxies and API clients commonly send; any other name still
/// works, its key is made for each request.
inline constexpr auto kEnvironNames = [] {
    using namespace environ_names_detail;
    return std::to_array<EnvironName>({
        repeating("AUTH_TYPE"),
        varying("CONTENT_LENGTH"),
        repeating("CONTENT_TYPE"),
        repeating("CONTEXT_DOCUMENT_ROOT"),
        repeating("CONTEXT_PREFIX"),
        repeatingPath("DOCUMENT_ROOT"),
        repeating("GATEWAY_INTERFACE"),
        repeating("HTTP_ACCEPT"),
        repeating("HTTP_ACCEPT_CHARSET"),
        repeating("HTTP_ACCEPT_ENCODING"),
        repeating("HTTP_ACCEPT_LANGUAGE"),
        varying("HTTP_AUTHORIZATION"),
        repeating("HTTP_CACHE_CONTROL"),
        repeating("HTTP_CONNECTION"),
        repeating("HTTP_CONTENT_ENCODING"),
        varying("HTTP_COOKIE"),
        repeating("HTTP_DNT"),
        repeating("HTTP_EXPECT"),
        varying("HTTP_FORWARDED"),
        repeating("HTTP_HOST"),
        varying("HTTP_IF_MATCH"),
        varying("HTTP_IF_MODIFIED_SINCE"),
        varying("HTTP_IF_NONE_MATCH"),
        varying("HTTP_IF_RANGE"),
        varying("HTTP_IF_UNMODIFIED_SINCE"),
        repeating("HTTP_ORIGIN"),
        repeating("HTTP_PRAGMA"),
        varying("HTTP_PROXY_AUTHORIZATION"),
        varying("HTTP_RANGE"),
        varying("HTTP_REFERER"),
        repeating("HTTP_SEC_CH_UA"),
        repeating("HTTP_SEC_CH_UA_MOBILE"),
        repeating("HTTP_SEC_CH_UA_PLATFORM"),
        repeating("HTTP_SEC_FETCH_DEST"),
        repeating("HTTP_SEC_FETCH_MODE"),
        repeating("HTTP_SEC_FETCH_SITE"),
        repeating("HTTP_SEC_FETCH_USER"),
        repeating("HTTP_TE"),
        varying("HTTP_TRACEPARENT"),
        varying("HTTP_TRACESTATE"),
        repeating("HTTP_TRANSFER_ENCODING"),
        repeating("HTTP_UPGRADE"),
        repeating("HTTP_UPGRADE_INSECURE_REQUESTS"),
        repeating("HTTP_USER_AGENT"),
        repeating("HTTP_VIA"),
        varying("HTTP_X_CSRFTOKEN"),
        varying("HTTP_X_FORWARDED_FOR"),
        repeating("HTTP_X_FORWARDED_HOST"),
        repeating("HTTP_X_FORWARDED_PORT"),
        repeating("HTTP_X_FORWARDED_PROTO"),
        repeating("HTTP_X_FORWARDED_SERVER"),
        varying("HTTP_X_REAL_IP"),
        repeating("HTTP_X_REQUESTED_WITH"),
        varying("HTTP_X_REQUEST_ID"),
        repeating("PATH"),
        varying("PATH_INFO"),
        varying("QUERY_STRING"),
        varying("REDIRECT_QUERY_STRING"),
        varying("REDIRECT_REMOTE_USER"),
        repeating("REDIRECT_STATUS"),
        varying("REDIRECT_URL"),
        repeating("REMOTE_ADDR"),
        repeating("REMOTE_HOST"),
        varying("REMOTE_PORT"),
        varying("REMOTE_USER"),
        repeating("REQUEST_METHOD"),
        repeating("REQUEST_SCHEME"),
        varying("REQUEST_URI"),
        repeatingPath("SCRIPT_FILENAME"),
        repeating("SCRIPT_NAME"),
        repeating("SERVER_ADDR"),
        repeating("SERVER_ADMIN"),
        repeating("SERVER_NAME"),
        repeating("SERVER_PORT"),
        repeating("SERVER_PROTOCOL"),
        repeating("SERVER_SIGNATURE"),
        repeating("SERVER_SOFTWARE"),
        varying("UNIQUE_ID"),
        repeating("mod_wsgi.application_group"),
        repeating("mod_wsgi.callable_object"),
        varying("mod_wsgi.daemon_start"),
        repeating("mod_wsgi.enable_sendfile"),
        repeating("mod_wsgi.handler_script"),
        repeating("mod_wsgi.ignore_activity"),
        repeating("mod_wsgi.mount_point"),
        varying("mod_wsgi.path_info"),
        repeating("mod_wsgi.process_group"),
        varying("mod_wsgi.queue_start"),
        repeating("mod_wsgi.request_handler"),
        varying("mod_wsgi.request_id"),
        varying("mod_wsgi.request_start"),
        repeating("mod_wsgi.script_name"),
        repeating("mod_wsgi.script_reloading"),
        repeating("mod_wsgi.version"),
        repeating("mod_wsgid.version"),
        varying("wsgi.errors"),
        repeating("wsgi.file_wrapper"),
        varying("wsgi.input"),
        repeating("wsgi.input_terminated"),
        repeating("wsgi.multiprocess"),
        repeating("wsgi.multithread"),
        repeating("wsgi.run_once"),
        repeating("wsgi.url_scheme"),
        repeating("wsgi.version"),
    });
}();

static_assert(std::adjacent_find(kEnvironNames.begin(), kEnvironNames.end(),
                                 [](const EnvironName& a, const EnvironName& b) {
                                     return !(a.name < b.name);
                                 }) == kEnvironNames.end(),
              "kEnvironNames must be sorted, without duplicates");

/// What places a name in kEnvironIndex: its length and three of its characters. The names
/// share long prefixes (HTTP_, mod_wsgi., SERVER_), so the last two and the middle one tell them
/// apart; hashing every byte cost more than the rest of the lookup. An unknown name that
/// collides costs a probe more, never a wrong answer (the table is fixed: its longest run of
/// full buckets bounds every lookup).
constexpr std::uint32_t environNameHash(std::string_view name) noexcept {
    const std::size_t n = name.size();
    std::uint32_t hash = static_cast<std::uint32_t>(n) * 0x9E3779B1U;
    if (n == 0) {
        return hash;
    }
    for (const std::size_t i : {n - 1, n >= 2 ? n - 2 : 0, n / 2}) {
        hash = (hash ^ static_cast<unsigned char>(name[i])) * 16777619U;
    }
    return hash;
}

/// Buckets of kEnvironIndex: a power of two, at least twice the names, so that a lookup probes
/// one or two buckets (every environ entry of every request is looked up); 512 bytes.
inline constexpr std::size_t kEnvironIndexBuckets = 512;
static_assert((kEnvironIndexBuckets & (kEnvironIndexBuckets - 1)) == 0 &&
                  kEnvironNames.size() * 2 <= kEnvironIndexBuckets && kEnvironNames.size() < 255,
              "kEnvironIndex: a power of two, half empty, and indexes that fit a byte");

/// An open-addressing hash table (linear probing) over kEnvironNames: 0 is an empty bucket,
/// i + 1 is kEnvironNames[i].
inline constexpr auto kEnvironIndex = [] {
    std::array<std::uint8_t, kEnvironIndexBuckets> buckets{};
    for (std::size_t i = 0; i < kEnvironNames.size(); ++i) {
        std::size_t at = environNameHash(kEnvironNames[i].name) & (kEnvironIndexBuckets - 1);
        while (buckets[at] != 0) {
            at = (at + 1) & (kEnvironIndexBuckets - 1);
        }
        buckets[at] = static_cast<std::uint8_t>(i + 1);
    }
    return buckets;
}();

/// The index of `name` in kEnvironNames, or std::nullopt for a name not in it.
constexpr std::optional<std::size_t> environNameIndex(std::string_view name) noexcept {
    for (std::size_t at = environNameHash(name) & (kEnvironIndexBuckets - 1);
         kEnvironIndex[at] != 0; at = (at + 1) & (kEnvironIndexBuckets - 1)) {
        const std::size_t index = kEnvironIndex[at] - 1U;
        if (kEnvironNames[index].name == name) {
            return index;
        }
    }
    return std::nullopt;
}

/// The index of a name that must be in kEnvironNames (a compile error otherwise).
consteval std::size_t environSlot(std::string_view name) {
    return environNameIndex(name).value();
}

/// How the value of `name` is decoded: as the table says, Latin1 for a name not in it.
constexpr ValueDecoding environDecoding(std::string_view name) noexcept {
    const std::optional<std::size_t> index = environNameIndex(name);
    return index ? kEnvironNames[*index].decoding : ValueDecoding::Latin1;
}

}  // namespace wsgid::python
