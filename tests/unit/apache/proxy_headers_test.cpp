// SPDX-License-Identifier: Apache-2.0
// Unit tests for WSGITrustedProxies / WSGITrustedProxyHeaders (apache/proxy_headers.h).
#include "apache/proxy_headers.h"

#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "support/contains.h"

namespace wsgid::apache {
namespace {

using Env = std::vector<protocol::EnvEntry>;
using test::contains;

const std::string* get(const Env& env, const std::string& key) {
    for (const auto& [k, v] : env) {
        if (k == key) {
            return &v;
        }
    }
    return nullptr;
}

std::string value(const Env& env, const std::string& key) {
    const std::string* v = get(env, key);
    return v != nullptr ? *v : "<absent>";
}

IpNetwork net(const char* text) {
    auto n = parseIpNetwork(text);
    EXPECT_TRUE(n.isOk()) << text << ": " << n.status().message();
    return n.isOk() ? n.value() : IpNetwork{};
}

Env request(std::vector<protocol::EnvEntry> headers, const char* peer = "127.0.0.1") {
    Env env = {{"REMOTE_ADDR", peer},   {"HTTP_HOST", "internal:8080"}, {"SERVER_NAME", "internal"},
               {"SERVER_PORT", "8080"}, {"SCRIPT_NAME", "/app"},        {"REQUEST_SCHEME", "http"}};
    env.insert(env.end(), headers.begin(), headers.end());
    return env;
}

TEST(ParseIpNetwork, AddressesAndNetworks) {
    EXPECT_TRUE(networkContains(net("10.1.2.3"), "10.1.2.3"));
    EXPECT_FALSE(networkContains(net("10.1.2.3"), "10.1.2.4"));
    EXPECT_TRUE(networkContains(net("10.0.0.0/8"), "10.200.1.1"));
    EXPECT_FALSE(networkContains(net("10.0.0.0/8"), "11.0.0.1"));
    EXPECT_TRUE(networkContains(net("192.168.0.0/255.255.0.0"), "192.168.7.7"));
    EXPECT_TRUE(networkContains(net("172.16.0.0/12"), "172.31.255.255"));
    EXPECT_FALSE(networkContains(net("172.16.0.0/12"), "172.32.0.0"));
    EXPECT_TRUE(networkContains(net("2001:db8::/32"), "2001:db8:1::5"));
    EXPECT_FALSE(networkContains(net("2001:db8::/32"), "2001:db9::5"));
    EXPECT_TRUE(networkContains(net("0.0.0.0/0"), "8.8.8.8"));
    // An IPv4-mapped IPv6 peer is its IPv4 address; families do not mix otherwise.
    EXPECT_TRUE(networkContains(net("127.0.0.1"), "::ffff:127.0.0.1"));
    EXPECT_FALSE(networkContains(net("::1"), "127.0.0.1"));
    EXPECT_FALSE(networkContains(net("10.0.0.0/8"), "not-an-ip"));
}

TEST(ParseIpNetwork, ErrorsSayWhatIsWrong) {
    for (const char* bad : {"", "example.com", "10.0.0.0/33", "10.0.0.0/x", "10.0.0.0/255.0.255.0",
                            "2001:db8::/129"}) {
        auto r = parseIpNetwork(bad);
        ASSERT_FALSE(r.isOk()) << bad;
        EXPECT_TRUE(contains(r.status().message(), bad)) << r.status().message();
    }
}

TEST(TrustedHeaderKey, KnownHeadersOnly) {
    EXPECT_EQ(trustedHeaderKey("X-Forwarded-For").value(), "HTTP_X_FORWARDED_FOR");
    EXPECT_EQ(trustedHeaderKey("x-forwarded-proto").value(), "HTTP_X_FORWARDED_PROTO");
    EXPECT_EQ(trustedHeaderKey("Forwarded").value(), "HTTP_FORWARDED");
    auto bad = trustedHeaderKey("X-Forwarded-Protocol");
    ASSERT_FALSE(bad.isOk());
    EXPECT_TRUE(contains(bad.status().message(), "X-Forwarded-Proto"));
    EXPECT_TRUE(contains(bad.status().message(), "X-Forwarded-Protocol"));
}

TEST(ApplyProxyHeaders, NothingWithoutTrustedHeaders) {
    Env env = request({{"HTTP_X_FORWARDED_FOR", "203.0.113.1"}});
    const Env before = env;
    applyProxyHeaders(env, {});
    EXPECT_EQ(env, before);
}

TEST(ApplyProxyHeaders, TrustedPeerRewritesTheEnviron) {
    const std::vector<const char*> headers = {
        "HTTP_X_FORWARDED_FOR",  "HTTP_X_FORWARDED_HOST",   "HTTP_X_FORWARDED_PROTO",
        "HTTP_X_FORWARDED_PORT", "HTTP_X_FORWARDED_SERVER", "HTTP_X_FORWARDED_SCRIPT_NAME"};
    const std::vector<IpNetwork> proxies = {net("127.0.0.1")};
    Env env = request({{"HTTP_X_FORWARDED_FOR", "203.0.113.1"},
                       {"HTTP_X_FORWARDED_HOST", "www.example.org"},
                       {"HTTP_X_FORWARDED_PROTO", "https"},
                       {"HTTP_X_FORWARDED_PORT", "443"},
                       {"HTTP_X_FORWARDED_SERVER", "www.example.org"},
                       {"HTTP_X_FORWARDED_SCRIPT_NAME", "/public"}});
    applyProxyHeaders(env, {.headers = headers, .proxies = proxies, .proxiesListed = true});
    EXPECT_EQ(value(env, "REMOTE_ADDR"), "203.0.113.1");
    EXPECT_EQ(value(env, "HTTP_HOST"), "www.example.org");
    EXPECT_EQ(value(env, "HTTPS"), "1");
    EXPECT_EQ(value(env, "REQUEST_SCHEME"), "https");
    EXPECT_EQ(value(env, "SERVER_PORT"), "443");
    EXPECT_EQ(value(env, "SERVER_NAME"), "www.example.org");
    EXPECT_EQ(value(env, "SCRIPT_NAME"), "/public");
    EXPECT_EQ(value(env, "mod_wsgi.mount_point"), "/public");
    EXPECT_EQ(value(env, "HTTP_X_FORWARDED_FOR"), "203.0.113.1");
}

TEST(ApplyProxyHeaders, UntrustedPeerLosesTheHeaders) {
    const std::vector<const char*> headers = {"HTTP_X_FORWARDED_FOR", "HTTP_X_FORWARDED_PROTO"};
    const std::vector<IpNetwork> proxies = {net("10.0.0.0/8")};
    Env env = request({{"HTTP_X_FORWARDED_FOR", "203.0.113.1"},
                       {"HTTP_X_REAL_IP", "203.0.113.2"},
                       {"HTTP_X_FORWARDED_PROTO", "https"},
                       {"HTTP_X_FORWARDED_HTTPS", "on"},
                       {"HTTP_X_FORWARDED_HOST", "evil.example"}});
    applyProxyHeaders(env, {.headers = headers, .proxies = proxies, .proxiesListed = true});
    EXPECT_EQ(value(env, "REMOTE_ADDR"), "127.0.0.1");
    EXPECT_EQ(value(env, "REQUEST_SCHEME"), "http");
    EXPECT_EQ(get(env, "HTTPS"), nullptr);
    for (const char* gone : {"HTTP_X_FORWARDED_FOR", "HTTP_X_REAL_IP", "HTTP_X_FORWARDED_PROTO",
                             "HTTP_X_FORWARDED_HTTPS"}) {
        EXPECT_EQ(get(env, gone), nullptr) << gone;
    }
    // A kind no trusted header names is left alone (mod_wsgi's rule).
    EXPECT_EQ(value(env, "HTTP_X_FORWARDED_HOST"), "evil.example");
}

TEST(ApplyProxyHeaders, WithoutAProxyListEveryPeerIsTrusted) {
    const std::vector<const char*> headers = {"HTTP_X_FORWARDED_FOR"};
    Env env = request({{"HTTP_X_FORWARDED_FOR", "198.51.100.7, 10.0.0.1"}}, "192.0.2.1");
    applyProxyHeaders(env, {.headers = headers, .proxies = {}, .proxiesListed = false});
    // The first entry, and the header as it came (mod_wsgi).
    EXPECT_EQ(value(env, "REMOTE_ADDR"), "198.51.100.7");
    EXPECT_EQ(value(env, "HTTP_X_FORWARDED_FOR"), "198.51.100.7, 10.0.0.1");
}

TEST(ApplyProxyHeaders, ForwardedForChainSkipsTrustedProxiesFromTheEnd) {
    const std::vector<const char*> headers = {"HTTP_X_FORWARDED_FOR"};
    const std::vector<IpNetwork> proxies = {net("127.0.0.1"), net("10.0.0.0/8")};
    Env env = request({{"HTTP_X_FORWARDED_FOR", "6.6.6.6, 203.0.113.5,, 10.0.0.2 , 10.0.0.3"}});
    applyProxyHeaders(env, {.headers = headers, .proxies = proxies, .proxiesListed = true});
    // 6.6.6.6 was written by the client itself: only the hops trusted proxies vouch for count.
    EXPECT_EQ(value(env, "REMOTE_ADDR"), "203.0.113.5");
    EXPECT_EQ(value(env, "HTTP_X_FORWARDED_FOR"), "203.0.113.5, 10.0.0.2, 10.0.0.3");

    Env last = request({{"HTTP_X_FORWARDED_FOR", "10.0.0.9, 203.0.113.5"}});
    applyProxyHeaders(last, {.headers = headers, .proxies = proxies, .proxiesListed = true});
    EXPECT_EQ(value(last, "REMOTE_ADDR"), "203.0.113.5");
    EXPECT_EQ(value(last, "HTTP_X_FORWARDED_FOR"), "203.0.113.5");

    Env allTrusted = request({{"HTTP_X_FORWARDED_FOR", "10.0.0.1, 10.0.0.2"}});
    applyProxyHeaders(allTrusted, {.headers = headers, .proxies = proxies, .proxiesListed = true});
    EXPECT_EQ(value(allTrusted, "REMOTE_ADDR"), "10.0.0.1");
}

TEST(ApplyProxyHeaders, OnlyTheTrustedSynonymSurvives) {
    const std::vector<const char*> headers = {"HTTP_X_REAL_IP", "HTTP_X_FORWARDED_SSL"};
    Env env = request({{"HTTP_X_REAL_IP", "203.0.113.8"},
                       {"HTTP_X_FORWARDED_FOR", "6.6.6.6"},
                       {"HTTP_X_CLIENT_IP", "6.6.6.7"},
                       {"HTTP_X_FORWARDED_SSL", "Off"},
                       {"HTTP_X_FORWARDED_PROTO", "https"},
                       {"HTTPS", "on"}});
    applyProxyHeaders(env, {.headers = headers, .proxies = {}, .proxiesListed = false});
    EXPECT_EQ(value(env, "REMOTE_ADDR"), "203.0.113.8");
    EXPECT_EQ(value(env, "HTTP_X_REAL_IP"), "203.0.113.8");
    EXPECT_EQ(get(env, "HTTP_X_FORWARDED_FOR"), nullptr);
    EXPECT_EQ(get(env, "HTTP_X_CLIENT_IP"), nullptr);
    EXPECT_EQ(get(env, "HTTP_X_FORWARDED_PROTO"), nullptr);
    EXPECT_EQ(get(env, "HTTPS"), nullptr);
    EXPECT_EQ(value(env, "REQUEST_SCHEME"), "http");
}

TEST(ApplyProxyHeaders, MeaninglessSchemeValuesChangeNothing) {
    const std::vector<const char*> headers = {"HTTP_X_FORWARDED_PROTO"};
    Env env = request({{"HTTP_X_FORWARDED_PROTO", "gopher"}});
    applyProxyHeaders(env, {.headers = headers, .proxies = {}, .proxiesListed = false});
    EXPECT_EQ(value(env, "REQUEST_SCHEME"), "http");
    // It changed nothing, so it is not kept either.
    EXPECT_EQ(get(env, "HTTP_X_FORWARDED_PROTO"), nullptr);
}

TEST(ApplyProxyHeaders, Rfc7239Forwarded) {
    const std::vector<const char*> headers = {"HTTP_FORWARDED"};
    const std::vector<IpNetwork> proxies = {net("127.0.0.1"), net("10.0.0.0/8")};
    Env env = request(
        {{"HTTP_FORWARDED", R"(for="[2001:db8::7]:4711";proto=https;host="www.example.org", )"
                            R"(for=10.0.0.5;proto=http;host=internal)"}});
    applyProxyHeaders(env, {.headers = headers, .proxies = proxies, .proxiesListed = true});
    EXPECT_EQ(value(env, "REMOTE_ADDR"), "2001:db8::7");
    EXPECT_EQ(value(env, "HTTP_HOST"), "www.example.org");
    EXPECT_EQ(value(env, "REQUEST_SCHEME"), "https");
    EXPECT_EQ(value(env, "HTTPS"), "1");

    Env portOnly = request({{"HTTP_FORWARDED", "for=192.0.2.60:8080;by=10.0.0.1"}});
    applyProxyHeaders(portOnly, {.headers = headers, .proxies = proxies, .proxiesListed = true});
    EXPECT_EQ(value(portOnly, "REMOTE_ADDR"), "192.0.2.60");
    EXPECT_EQ(value(portOnly, "HTTP_HOST"), "internal:8080");
}

}  // namespace
}  // namespace wsgid::apache
