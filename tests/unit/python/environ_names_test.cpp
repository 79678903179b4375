// SPDX-License-Identifier: Apache-2.0
// The table of known environ names (python/environ_names.h): lookup, decodings, and which values
// an interpreter may keep for the next request.
#include "python/environ_names.h"

#include <algorithm>
#include <string>
#include <string_view>

#include <gtest/gtest.h>

namespace wsgid::testing {
namespace {

using python::environDecoding;
using python::environNameIndex;
using python::kEnvironNames;
using python::ValueDecoding;

static_assert(kEnvironNames[python::environSlot("REQUEST_METHOD")].name == "REQUEST_METHOD");

bool valueRepeats(std::string_view name) {
    const auto index = environNameIndex(name);
    return index && kEnvironNames[*index].valueRepeats;
}

TEST(EnvironNames, EveryNameIsFoundAtItsIndex) {
    for (std::size_t i = 0; i < kEnvironNames.size(); ++i) {
        EXPECT_EQ(environNameIndex(kEnvironNames[i].name), i) << kEnvironNames[i].name;
    }
}

TEST(EnvironNames, EveryNameIsWithinAFewBucketsOfItsHash) {
    // Linear probing in a half-empty table: a name found far from its bucket would mean a
    // clustering hash, and every request's lookups paying for it.
    std::size_t longest = 0;
    for (const auto& known : kEnvironNames) {
        const std::size_t home =
            python::environNameHash(known.name) & (python::kEnvironIndexBuckets - 1);
        std::size_t at = home;
        while (kEnvironNames[python::kEnvironIndex[at] - 1U].name != known.name) {
            at = (at + 1) & (python::kEnvironIndexBuckets - 1);
        }
        longest = std::max(longest, (at - home) & (python::kEnvironIndexBuckets - 1));
    }
    EXPECT_LE(longest, 2U);
}

TEST(EnvironNames, OtherNamesAreNotFound) {
    using namespace std::string_view_literals;
    for (const std::string_view name :
         {""sv, "HTTP_"sv, "HTTP_X_MY_HEADER"sv, "http_host"sv, "HTTP_HOST "sv, "HTTP_HOS"sv,
          "HTTP_HOSTS"sv, "AAA"sv, "zzz"sv, "wsgi."sv, "mod_wsgi.unknown"sv, "HTTP_HOST\0"sv}) {
        EXPECT_FALSE(environNameIndex(name).has_value()) << name;
    }
}

TEST(EnvironNames, TheVariablesTheModuleAndTheDaemonSetAreKnown) {
    // src/apache/environ.cpp, request_flags.h and python/environ.cpp.
    for (const std::string_view name : {"GATEWAY_INTERFACE",
                                        "SERVER_SOFTWARE",
                                        "SERVER_NAME",
                                        "SERVER_PORT",
                                        "SERVER_ADDR",
                                        "SERVER_ADMIN",
                                        "SERVER_PROTOCOL",
                                        "REQUEST_SCHEME",
                                        "REQUEST_METHOD",
                                        "REQUEST_URI",
                                        "SCRIPT_NAME",
                                        "PATH_INFO",
                                        "QUERY_STRING",
                                        "SCRIPT_FILENAME",
                                        "DOCUMENT_ROOT",
                                        "CONTEXT_PREFIX",
                                        "CONTEXT_DOCUMENT_ROOT",
                                        "REMOTE_ADDR",
                                        "REMOTE_PORT",
                                        "REMOTE_HOST",
                                        "REMOTE_USER",
                                        "AUTH_TYPE",
                                        "CONTENT_TYPE",
                                        "CONTENT_LENGTH",
                                        "SERVER_SIGNATURE",
                                        "mod_wsgi.script_name",
                                        "mod_wsgi.path_info",
                                        "mod_wsgi.handler_script",
                                        "mod_wsgi.request_handler",
                                        "mod_wsgi.request_start",
                                        "mod_wsgi.queue_start",
                                        "mod_wsgi.script_reloading",
                                        "mod_wsgi.enable_sendfile",
                                        "mod_wsgi.ignore_activity",
                                        "wsgi.version",
                                        "wsgi.url_scheme",
                                        "wsgi.input",
                                        "wsgi.input_terminated",
                                        "wsgi.errors",
                                        "wsgi.multithread",
                                        "wsgi.multiprocess",
                                        "wsgi.run_once",
                                        "wsgi.file_wrapper",
                                        "mod_wsgi.version",
                                        "mod_wsgid.version",
                                        "mod_wsgi.process_group",
                                        "mod_wsgi.application_group",
                                        "mod_wsgi.callable_object",
                                        "mod_wsgi.request_id",
                                        "mod_wsgi.daemon_start",
                                        "HTTP_HOST",
                                        "HTTP_USER_AGENT",
                                        "HTTP_ACCEPT"}) {
        EXPECT_TRUE(environNameIndex(name).has_value()) << name;
    }
}

TEST(EnvironNames, PathsDecodeWithTheFileSystemEncodingAndTheRestAsLatin1) {
    EXPECT_EQ(environDecoding("SCRIPT_FILENAME"), ValueDecoding::FileSystem);
    EXPECT_EQ(environDecoding("DOCUMENT_ROOT"), ValueDecoding::FileSystem);
    for (const std::string_view name :
         {"CONTEXT_DOCUMENT_ROOT", "SCRIPT_NAME", "PATH_INFO", "HTTP_HOST", "HTTP_X_UNKNOWN", ""}) {
        EXPECT_EQ(environDecoding(name), ValueDecoding::Latin1) << name;
    }
    std::size_t paths = 0;
    for (const auto& known : kEnvironNames) {
        paths += known.decoding == ValueDecoding::FileSystem ? 1 : 0;
    }
    EXPECT_EQ(paths, 2U);
}

TEST(EnvironNames, CredentialsAreNeverKeptForTheNextRequest) {
    for (const std::string_view name :
         {"HTTP_COOKIE", "HTTP_AUTHORIZATION", "HTTP_PROXY_AUTHORIZATION", "REMOTE_USER",
          "REDIRECT_REMOTE_USER", "HTTP_X_CSRFTOKEN"}) {
        ASSERT_TRUE(environNameIndex(name).has_value()) << name;
        EXPECT_FALSE(valueRepeats(name)) << name;
    }
}

TEST(EnvironNames, WhatChangesWithEveryRequestIsNotKeptAndTheServersVariablesAre) {
    for (const std::string_view name :
         {"REMOTE_PORT", "QUERY_STRING", "REQUEST_URI", "mod_wsgi.request_id",
          "mod_wsgi.request_start", "mod_wsgi.queue_start", "mod_wsgi.daemon_start", "UNIQUE_ID"}) {
        EXPECT_FALSE(valueRepeats(name)) << name;
    }
    for (const std::string_view name :
         {"GATEWAY_INTERFACE", "SERVER_SOFTWARE", "SERVER_NAME", "SERVER_PORT", "SERVER_PROTOCOL",
          "REQUEST_METHOD", "SCRIPT_NAME", "SCRIPT_FILENAME", "DOCUMENT_ROOT", "HTTP_HOST",
          "HTTP_USER_AGENT", "HTTP_ACCEPT", "mod_wsgi.process_group"}) {
        EXPECT_TRUE(valueRepeats(name)) << name;
    }
}

}  // namespace
}  // namespace wsgid::testing
