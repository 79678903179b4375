// SPDX-License-Identifier: Apache-2.0
// TempDir: a temporary directory for tests, removed with its contents. No httpd, APR or Python.
#pragma once

#include <string>
#include <string_view>

namespace wsgid::testing {

/// A temporary directory under /tmp, removed with its contents on destruction.
class TempDir {
public:
    TempDir();
    ~TempDir();
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    [[nodiscard]] const std::string& path() const { return path_; }
    /// Writes `content` to path()/name (creating subdirectories) and returns the full path.
    std::string write(const std::string& name, std::string_view content) const;

private:
    std::string path_;
};

}  // namespace wsgid::testing
