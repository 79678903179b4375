// SPDX-License-Identifier: Apache-2.0
// applyInterpreterOptions: which sections reach an interpreter, in which order, and how
// python-path entries add up.
#include "common/interpreter_options.h"

#include <gtest/gtest.h>

namespace wsgid::common {
namespace {

TEST(InterpreterOptions, OnlyMatchingSectionsApplyAndTheLastOneWins) {
    const std::vector<InterpreterOptions> sections = {
        {.restrictStdout = true, .switchInterval = 0.01},        // every interpreter
        {.applicationGroup = "admin", .restrictStdout = false},  // admin only
        {.applicationGroup = "", .restrictSignal = false},       // the main interpreter
        {.applicationGroup = "admin", .restrictStdin = true}};   // admin again
    PythonSettings admin;
    std::vector<std::string> adminPath;
    applyInterpreterOptions(sections, "admin", admin, adminPath);
    EXPECT_TRUE(admin.restrictStdin);
    EXPECT_FALSE(admin.restrictStdout);  // the admin section came after the general one
    EXPECT_TRUE(admin.restrictSignal);   // mod_wsgi's default, untouched
    EXPECT_EQ(admin.switchInterval, 0.01);

    PythonSettings main;
    std::vector<std::string> mainPath;
    applyInterpreterOptions(sections, "", main, mainPath);
    EXPECT_FALSE(main.restrictStdin);
    EXPECT_TRUE(main.restrictStdout);
    EXPECT_FALSE(main.restrictSignal);

    PythonSettings other;
    std::vector<std::string> otherPath;
    applyInterpreterOptions(sections, "site|/", other, otherPath);
    EXPECT_TRUE(other.restrictStdout);
    EXPECT_TRUE(other.restrictSignal);
}

TEST(InterpreterOptions, PythonPathEntriesAddUpAfterTheGroupsOwn) {
    const std::vector<InterpreterOptions> sections = {
        {.pythonPath = {"/shared"}}, {.applicationGroup = "a", .pythonPath = {"/a1", "/a2"}}};
    PythonSettings settings;
    std::vector<std::string> path = {"/group"};
    applyInterpreterOptions(sections, "a", settings, path);
    EXPECT_EQ(path, (std::vector<std::string>{"/group", "/shared", "/a1", "/a2"}));
    std::vector<std::string> bPath = {"/group"};
    applyInterpreterOptions(sections, "b", settings, bPath);
    EXPECT_EQ(bPath, (std::vector<std::string>{"/group", "/shared"}));
}

TEST(InterpreterOptions, NoSectionsChangeNothing) {
    PythonSettings settings;
    settings.restrictStdin = true;
    std::vector<std::string> path = {"/x"};
    applyInterpreterOptions({}, "", settings, path);
    EXPECT_TRUE(settings.restrictStdin);
    EXPECT_EQ(path, std::vector<std::string>{"/x"});
}

}  // namespace
}  // namespace wsgid::common
