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

/// A name whose value usually repeats (see EnvironName::valueRepeats).
constexpr EnvironName repeatingValue(std::string_view name) {
    return {name, true, ValueDecoding::Latin1};
}
/// A file system path whose value usually repeats.
constexpr EnvironName repeatingPath(std::string_view name) {
    return {name, true, ValueDecoding::FileSystem};
}
/// A name whose value changes from request to request, or must not be kept.
constexpr EnvironName varyingValue(std::string_view name) {
    return {name, false, ValueDecoding::Latin1};
}

/// Every known name, sorted by bytes (which proves there is no duplicate). The HTTP_* names are
/// those of the headers browsers, proxies and API clients commonly send; any other name still
/// works, its key is made for each request.
inline constexpr std::array<EnvironName, 104> kEnvironNames = {{
    repeatingValue("AUTH_TYPE"),
    varyingValue("CONTENT_LENGTH"),
    repeatingValue("CONTENT_TYPE"),
    repeatingValue("CONTEXT_DOCUMENT_ROOT"),
    repeatingValue("CONTEXT_PREFIX"),
    repeatingPath("DOCUMENT_ROOT"),
    repeatingValue("GATEWAY_INTERFACE"),
    repeatingValue("HTTP_ACCEPT"),
    repeatingValue("HTTP_ACCEPT_CHARSET"),
    repeatingValue("HTTP_ACCEPT_ENCODING"),
    repeatingValue("HTTP_ACCEPT_LANGUAGE"),
    varyingValue("HTTP_AUTHORIZATION"),
    repeatingValue("HTTP_CACHE_CONTROL"),
    repeatingValue("HTTP_CONNECTION"),
    repeatingValue("HTTP_CONTENT_ENCODING"),
    varyingValue("HTTP_COOKIE"),
    repeatingValue("HTTP_DNT"),
    repeatingValue("HTTP_EXPECT"),
    varyingValue("HTTP_FORWARDED"),
    repeatingValue("HTTP_HOST"),
    varyingValue("HTTP_IF_MATCH"),
    varyingValue("HTTP_IF_MODIFIED_SINCE"),
    varyingValue("HTTP_IF_NONE_MATCH"),
    varyingValue("HTTP_IF_RANGE"),
    varyingValue("HTTP_IF_UNMODIFIED_SINCE"),
    repeatingValue("HTTP_ORIGIN"),
    repeatingValue("HTTP_PRAGMA"),
    varyingValue("HTTP_PROXY_AUTHORIZATION"),
    varyingValue("HTTP_RANGE"),
    varyingValue("HTTP_REFERER"),
    repeatingValue("HTTP_SEC_CH_UA"),
    repeatingValue("HTTP_SEC_CH_UA_MOBILE"),
    repeatingValue("HTTP_SEC_CH_UA_PLATFORM"),
    repeatingValue("HTTP_SEC_FETCH_DEST"),
    repeatingValue("HTTP_SEC_FETCH_MODE"),
    repeatingValue("HTTP_SEC_FETCH_SITE"),
    repeatingValue("HTTP_SEC_FETCH_USER"),
    repeatingValue("HTTP_TE"),
    varyingValue("HTTP_TRACEPARENT"),
    varyingValue("HTTP_TRACESTATE"),
    repeatingValue("HTTP_TRANSFER_ENCODING"),
    repeatingValue("HTTP_UPGRADE"),
    repeatingValue("HTTP_UPGRADE_INSECURE_REQUESTS"),
    repeatingValue("HTTP_USER_AGENT"),
    repeatingValue("HTTP_VIA"),
    varyingValue("HTTP_X_CSRFTOKEN"),
    varyingValue("HTTP_X_FORWARDED_FOR"),
    repeatingValue("HTTP_X_FORWARDED_HOST"),
    repeatingValue("HTTP_X_FORWARDED_PORT"),
    repeatingValue("HTTP_X_FORWARDED_PROTO"),
    repeatingValue("HTTP_X_FORWARDED_SERVER"),
    varyingValue("HTTP_X_REAL_IP"),
    repeatingValue("HTTP_X_REQUESTED_WITH"),
    varyingValue("HTTP_X_REQUEST_ID"),
    repeatingValue("PATH"),
    varyingValue("PATH_INFO"),
    varyingValue("QUERY_STRING"),
    varyingValue("REDIRECT_QUERY_STRING"),
    varyingValue("REDIRECT_REMOTE_USER"),
    repeatingValue("REDIRECT_STATUS"),
    varyingValue("REDIRECT_URL"),
    repeatingValue("REMOTE_ADDR"),
    repeatingValue("REMOTE_HOST"),
    varyingValue("REMOTE_PORT"),
    varyingValue("REMOTE_USER"),
    repeatingValue("REQUEST_METHOD"),
    repeatingValue("REQUEST_SCHEME"),
    varyingValue("REQUEST_URI"),
    repeatingPath("SCRIPT_FILENAME"),
    repeatingValue("SCRIPT_NAME"),
    repeatingValue("SERVER_ADDR"),
    repeatingValue("SERVER_ADMIN"),
    repeatingValue("SERVER_NAME"),
    repeatingValue("SERVER_PORT"),
    repeatingValue("SERVER_PROTOCOL"),
    repeatingValue("SERVER_SIGNATURE"),
    repeatingValue("SERVER_SOFTWARE"),
    varyingValue("UNIQUE_ID"),
    repeatingValue("mod_wsgi.application_group"),
    repeatingValue("mod_wsgi.callable_object"),
    varyingValue("mod_wsgi.daemon_start"),
    repeatingValue("mod_wsgi.enable_sendfile"),
    repeatingValue("mod_wsgi.handler_script"),
    repeatingValue("mod_wsgi.ignore_activity"),
    repeatingValue("mod_wsgi.mount_point"),
    varyingValue("mod_wsgi.path_info"),
    repeatingValue("mod_wsgi.process_group"),
    varyingValue("mod_wsgi.queue_start"),
    repeatingValue("mod_wsgi.request_handler"),
    varyingValue("mod_wsgi.request_id"),
    varyingValue("mod_wsgi.request_start"),
    repeatingValue("mod_wsgi.script_name"),
    repeatingValue("mod_wsgi.script_reloading"),
    repeatingValue("mod_wsgi.version"),
    repeatingValue("mod_wsgid.version"),
    varyingValue("wsgi.errors"),
    repeatingValue("wsgi.file_wrapper"),
    varyingValue("wsgi.input"),
    repeatingValue("wsgi.input_terminated"),
    repeatingValue("wsgi.multiprocess"),
    repeatingValue("wsgi.multithread"),
    repeatingValue("wsgi.run_once"),
    repeatingValue("wsgi.url_scheme"),
    repeatingValue("wsgi.version"),
}};

// Also fails when the count above is larger than the names listed (the rest would be empty).
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
    const auto mix = [](std::uint32_t h, char c) {
        return (h ^ static_cast<unsigned char>(c)) * 16777619U;
    };
    return mix(mix(mix(hash, name[n - 1]), name[n >= 2 ? n - 2 : 0]), name[n / 2]);
}

/// Buckets of kEnvironIndex: a power of two, at least twice the names, so that a lookup probes
/// one or two buckets (every environ entry of every request is looked up); 512 bytes.
inline constexpr std::size_t kEnvironIndexBuckets = 512;
static_assert((kEnvironIndexBuckets & (kEnvironIndexBuckets - 1)) == 0 &&
                  kEnvironNames.size() * 2 <= kEnvironIndexBuckets && kEnvironNames.size() < 255,
              "kEnvironIndex: a power of two, half empty, and indexes that fit a byte");

/// An open-addressing hash table (linear probing) over kEnvironNames: 0 is an empty bucket,
/// i + 1 is kEnvironNames[i].
consteval std::array<std::uint8_t, kEnvironIndexBuckets> makeEnvironIndex() {
    std::array<std::uint8_t, kEnvironIndexBuckets> buckets{};
    for (std::size_t i = 0; i < kEnvironNames.size(); ++i) {
        std::size_t at = environNameHash(kEnvironNames[i].name) & (kEnvironIndexBuckets - 1);
        while (buckets[at] != 0) {
            at = (at + 1) & (kEnvironIndexBuckets - 1);
        }
        buckets[at] = static_cast<std::uint8_t>(i + 1);
    }
    return buckets;
}
inline constexpr std::array<std::uint8_t, kEnvironIndexBuckets> kEnvironIndex = makeEnvironIndex();

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
