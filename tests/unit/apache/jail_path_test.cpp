// SPDX-License-Identifier: Apache-2.0
#include "apache/jail_path.h"

#include <gtest/gtest.h>

namespace wsgid::apache {
namespace {

TEST(PathInJail, StripsTheJailPrefix) {
    EXPECT_EQ(pathInJail("/srv/jail", "/srv/jail/app/x.wsgi"), "/app/x.wsgi");
    EXPECT_EQ(pathInJail("/srv/jail/", "/srv/jail/app/x.wsgi"), "/app/x.wsgi");
    EXPECT_EQ(pathInJail("/srv/jail", "/srv/jail"), "/");
    EXPECT_EQ(pathInJail("/srv/jail", "/srv/jail/"), "/");
}

TEST(PathInJail, RefusesPathsOutsideTheJail) {
    EXPECT_EQ(pathInJail("/srv/jail", "/srv/jailbreak/x.wsgi"), std::nullopt);
    EXPECT_EQ(pathInJail("/srv/jail", "/etc/passwd"), std::nullopt);
    EXPECT_EQ(pathInJail("/srv/jail", "/srv"), std::nullopt);
    EXPECT_EQ(pathInJail("/srv/jail", "relative/x.wsgi"), std::nullopt);
    EXPECT_EQ(pathInJail("/srv/jail", ""), std::nullopt);
    EXPECT_EQ(pathInJail("", "/srv/jail/x"), std::nullopt);
}

TEST(PathInJail, RefusesDotDotComponents) {
    EXPECT_EQ(pathInJail("/srv/jail", "/srv/jail/../etc/passwd"), std::nullopt);
    EXPECT_EQ(pathInJail("/srv/jail", "/srv/jail/app/.."), std::nullopt);
    EXPECT_EQ(pathInJail("/srv/jail", "/srv/jail/app/..x/y"), "/app/..x/y");
}

TEST(PathInJail, RootJailKeepsThePath) {
    EXPECT_EQ(pathInJail("/", "/srv/x.wsgi"), "/srv/x.wsgi");
}

}  // namespace
}  // namespace wsgid::apache
