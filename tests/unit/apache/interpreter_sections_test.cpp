// SPDX-License-Identifier: Apache-2.0
// <WSGIInterpreterOptions>: parsing the section's arguments, and which sections a daemon group
// gets in which order (most specific last, ties in configuration order).
#include "apache/interpreter_sections.h"

#include <gtest/gtest.h>

#include "apache/config.h"
#include "apache/config_parse.h"

namespace wsgid::apache {
namespace {

InterpreterSection section(std::optional<std::string> processGroup,
                           std::optional<std::string> applicationGroup, std::string path) {
    InterpreterSection s;
    s.processGroup = std::move(processGroup);
    s.options.applicationGroup = std::move(applicationGroup);
    s.options.pythonPath = {std::move(path)};
    return s;
}

std::vector<std::string> pathsOf(const std::vector<common::InterpreterOptions>& options) {
    std::vector<std::string> out;
    for (const auto& o : options) {
        out.insert(out.end(), o.pythonPath.begin(), o.pythonPath.end());
    }
    return out;
}

TEST(InterpreterSections, AGroupGetsItsOwnAndTheGeneralSectionsMostSpecificLast) {
    const std::vector<InterpreterSection> sections = {
        section("site", "admin", "/both"),       section(std::nullopt, std::nullopt, "/none"),
        section("site", std::nullopt, "/group"), section("other", std::nullopt, "/other"),
        section(std::nullopt, "admin", "/app"),  section(std::nullopt, std::nullopt, "/none2")};
    EXPECT_EQ(pathsOf(interpreterOptionsFor(sections, "site")),
              (std::vector<std::string>{"/none", "/none2", "/group", "/app", "/both"}));
    EXPECT_EQ(pathsOf(interpreterOptionsFor(sections, "other")),
              (std::vector<std::string>{"/none", "/none2", "/other", "/app"}));
    EXPECT_EQ(pathsOf(interpreterOptionsFor(sections, "third")),
              (std::vector<std::string>{"/none", "/none2", "/app"}));
    EXPECT_TRUE(interpreterOptionsFor({}, "site").empty());
}

TEST(InterpreterSections, ArgumentsAreNamesOrGlobal) {
    auto none = parseInterpreterSection("");
    ASSERT_TRUE(none.isOk());
    EXPECT_FALSE(none->processGroup);
    EXPECT_FALSE(none->options.applicationGroup);

    auto both = parseInterpreterSection("process-group=site application-group=admin");
    ASSERT_TRUE(both.isOk()) << both.status().message();
    EXPECT_EQ(both->processGroup, "site");
    EXPECT_EQ(both->options.applicationGroup, "admin");

    auto global = parseInterpreterSection("process-group=%{GLOBAL} application-group=%{GLOBAL}");
    ASSERT_TRUE(global.isOk()) << global.status().message();
    EXPECT_EQ(global->processGroup, std::string(GroupRegistry::kDefaultGroupName));
    EXPECT_EQ(global->options.applicationGroup, "");
}

TEST(InterpreterSections, BadArgumentsAreRefusedWithWhatToChange) {
    const auto messageOf = [](std::string_view raw) {
        auto r = parseInterpreterSection(raw);
        EXPECT_FALSE(r.isOk()) << raw;
        return r.isOk() ? std::string() : r.status().message();
    };
    EXPECT_NE(messageOf("user=bob").find("unknown option 'user'"), std::string::npos);
    EXPECT_NE(messageOf("process-group=a process-group=b").find("twice"), std::string::npos);
    EXPECT_NE(messageOf("application-group=").find("needs a value"), std::string::npos);
    EXPECT_NE(messageOf("application-group=%{SERVER}").find("a name or %{GLOBAL}"),
              std::string::npos);
    EXPECT_NE(messageOf("site").find("option=value"), std::string::npos);
}

}  // namespace
}  // namespace wsgid::apache
