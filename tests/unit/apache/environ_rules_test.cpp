// SPDX-License-Identifier: Apache-2.0
// Unit tests for the pure environ rules (apache/environ_rules.h): header keys, host:port and the
// %{...} expansion of group names.
#include "apache/environ_rules.h"

#include <map>
#include <string>

#include <gtest/gtest.h>

namespace wsgid::apache {
namespace {

class MapEnv final : public EnvLookup {
public:
    MapEnv(std::initializer_list<std::pair<const std::string, std::string>> vars) : vars_(vars) {}
    [[nodiscard]] std::optional<std::string_view> find(std::string_view name) const override {
        auto it = vars_.find(name);
        if (it == vars_.end()) {
            return std::nullopt;
        }
        return std::string_view(it->second);
    }

private:
    std::map<std::string, std::string, std::less<>> vars_;
};

TEST(EnvironKeyForHeader, UppercasesAndMapsDashes) {
    EXPECT_EQ(environKeyForHeader("X-Forwarded-For", false), "HTTP_X_FORWARDED_FOR");
    EXPECT_EQ(environKeyForHeader("accept", false), "HTTP_ACCEPT");
    EXPECT_EQ(environKeyForHeader("Host", false), "HTTP_HOST");
    EXPECT_EQ(environKeyForHeader("X-1", false), "HTTP_X_1");
}

TEST(EnvironKeyForHeader, SkipsContentHeadersWithOwnKeys) {
    EXPECT_FALSE(environKeyForHeader("Content-Type", false));
    EXPECT_FALSE(environKeyForHeader("content-length", false));
}

TEST(EnvironKeyForHeader, DropsProxyHeaderForHttpoxy) {
    EXPECT_FALSE(environKeyForHeader("Proxy", true));
    EXPECT_FALSE(environKeyForHeader("PROXY", false));
    EXPECT_EQ(environKeyForHeader("Proxy-Connection", false), "HTTP_PROXY_CONNECTION");
}

TEST(EnvironKeyForHeader, DropsNamesThatCouldCollide) {
    EXPECT_FALSE(environKeyForHeader("X_Forwarded_For", false));
    EXPECT_FALSE(environKeyForHeader("X.Foo", false));
    EXPECT_FALSE(environKeyForHeader("X Foo", false));
    EXPECT_FALSE(environKeyForHeader("X-F\xc3\xb6o", false));
    EXPECT_FALSE(environKeyForHeader("", false));
}

TEST(EnvironKeyForHeader, AuthorizationOnlyWhenPassed) {
    EXPECT_FALSE(environKeyForHeader("Authorization", false));
    EXPECT_EQ(environKeyForHeader("Authorization", true), "HTTP_AUTHORIZATION");
    EXPECT_FALSE(environKeyForHeader("Proxy-Authorization", false));
    EXPECT_EQ(environKeyForHeader("proxy-authorization", true), "HTTP_PROXY_AUTHORIZATION");
}

TEST(HostWithPort, OmitsDefaultPorts) {
    EXPECT_EQ(hostWithPort("example.com", 80), "example.com");
    EXPECT_EQ(hostWithPort("example.com", 443), "example.com");
}

TEST(HostWithPort, KeepsOtherPorts) {
    EXPECT_EQ(hostWithPort("example.com", 8080), "example.com:8080");
    EXPECT_EQ(hostWithPort("localhost", 8443), "localhost:8443");
}

ExpansionContext context(const EnvLookup* env, unsigned port = 80) {
    return ExpansionContext{.serverHostname = "www.example.com",
                            .requestHost = "alias.example.com",
                            .port = port,
                            .scriptName = "/app",
                            .env = env};
}

TEST(ExpandGroupSpec, GlobalIsEmpty) {
    EXPECT_EQ(expandGroupSpec("%{GLOBAL}", context(nullptr)), "");
}

TEST(ExpandGroupSpec, ResourceIsServerAndScriptName) {
    EXPECT_EQ(expandGroupSpec("%{RESOURCE}", context(nullptr)), "www.example.com|/app");
    EXPECT_EQ(expandGroupSpec("%{RESOURCE}", context(nullptr, 8080)), "www.example.com:8080|/app");
}

TEST(ExpandGroupSpec, ResourceOfRootMountEndsWithBar) {
    ExpansionContext ctx = context(nullptr, 443);
    ctx.scriptName = "";
    EXPECT_EQ(expandGroupSpec("%{RESOURCE}", ctx), "www.example.com|");
}

TEST(ExpandGroupSpec, ServerAndHost) {
    EXPECT_EQ(expandGroupSpec("%{SERVER}", context(nullptr, 8000)), "www.example.com:8000");
    EXPECT_EQ(expandGroupSpec("%{HOST}", context(nullptr, 8000)), "alias.example.com:8000");
}

TEST(ExpandGroupSpec, HostFallsBackToServerName) {
    ExpansionContext ctx = context(nullptr);
    ctx.requestHost = "";
    EXPECT_EQ(expandGroupSpec("%{HOST}", ctx), "www.example.com");
}

TEST(ExpandGroupSpec, LiteralNamesStay) {
    EXPECT_EQ(expandGroupSpec("site1", context(nullptr)), "site1");
    EXPECT_EQ(expandGroupSpec("%{UNKNOWN}", context(nullptr)), "%{UNKNOWN}");
    EXPECT_EQ(expandGroupSpec("x%{GLOBAL}", context(nullptr)), "x%{GLOBAL}");
    EXPECT_EQ(expandGroupSpec("", context(nullptr)), "");
}

TEST(ExpandGroupSpec, EnvLooksUpTheVariable) {
    const MapEnv env{{"SITE", "tenant42"}};
    EXPECT_EQ(expandGroupSpec("%{ENV:SITE}", context(&env)), "tenant42");
}

TEST(ExpandGroupSpec, UnsetEnvStaysLiteral) {
    const MapEnv env{};
    EXPECT_EQ(expandGroupSpec("%{ENV:MISSING}", context(&env)), "%{ENV:MISSING}");
    EXPECT_EQ(expandGroupSpec("%{ENV:MISSING}", context(nullptr)), "%{ENV:MISSING}");
}

TEST(ExpandGroupSpec, EnvValueMayNameAFixedForm) {
    const MapEnv env{{"G", "%{GLOBAL}"}, {"R", "%{RESOURCE}"}};
    EXPECT_EQ(expandGroupSpec("%{ENV:G}", context(&env)), "");
    EXPECT_EQ(expandGroupSpec("%{ENV:R}", context(&env)), "www.example.com|/app");
}

TEST(ExpandGroupSpec, EnvDoesNotRecurseIntoEnv) {
    const MapEnv env{{"A", "%{ENV:A}"}, {"B", "%{ENV:A}"}};
    EXPECT_EQ(expandGroupSpec("%{ENV:A}", context(&env)), "%{ENV:A}");
    EXPECT_EQ(expandGroupSpec("%{ENV:B}", context(&env)), "%{ENV:A}");
}

TEST(ExpandGroupSpec, MalformedEnvFormStaysLiteral) {
    const MapEnv env{{"", "x"}};
    EXPECT_EQ(expandGroupSpec("%{ENV:}", context(&env)), "%{ENV:}");
    EXPECT_EQ(expandGroupSpec("%{ENV:X", context(&env)), "%{ENV:X");
}

}  // namespace
}  // namespace wsgid::apache
