// SPDX-License-Identifier: Apache-2.0
// Unit tests for the mod_wsgi.* request settings carried in the environ (protocol/request_flags.h).
#include "protocol/request_flags.h"

#include <gtest/gtest.h>

namespace wsgid::protocol {
namespace {

TEST(RequestFlags, DefaultsWhenAbsent) {
    const RequestHead head;
    EXPECT_FALSE(ignoresActivity(head));
    EXPECT_TRUE(scriptReloading(head));
    EXPECT_TRUE(passesFiles(head));  // WSGIEnableSendfile is On unless turned off
}

TEST(RequestFlags, PassesFilesFollowsEnableSendfile) {
    RequestHead head;
    head.environ = {{"mod_wsgi.enable_sendfile", "0"}};
    EXPECT_FALSE(passesFiles(head));
    head.environ = {{"mod_wsgi.enable_sendfile", "1"}};
    EXPECT_TRUE(passesFiles(head));
}

TEST(RequestFlags, OnlyOneIsOn) {
    RequestHead head;
    head.environ = {{"mod_wsgi.ignore_activity", "1"}, {"mod_wsgi.script_reloading", "0"}};
    EXPECT_TRUE(ignoresActivity(head));
    EXPECT_FALSE(scriptReloading(head));
    head.environ = {{"mod_wsgi.ignore_activity", "yes"}, {"mod_wsgi.script_reloading", "true"}};
    EXPECT_FALSE(ignoresActivity(head));
    EXPECT_FALSE(scriptReloading(head));
}

TEST(RequestFlags, TheFirstEntryCounts) {
    // The module writes its own entries before any SetEnv variable of the same name.
    RequestHead head;
    head.environ = {{"mod_wsgi.ignore_activity", "0"}, {"mod_wsgi.ignore_activity", "1"}};
    EXPECT_FALSE(ignoresActivity(head));
    EXPECT_TRUE(environFlag(head.environ, kEnableSendfileKey, true));
}

}  // namespace
}  // namespace wsgid::protocol
