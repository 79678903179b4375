// SPDX-License-Identifier: Apache-2.0
// The tests' temporary directory (see temp_dir.h).
#include "support/temp_dir.h"

#include <filesystem>
#include <fstream>
#include <system_error>

#include <stdlib.h>

namespace wsgid::testing {

TempDir::TempDir() {
    char pattern[] = "/tmp/wsgid-test-XXXXXX";
    const char* made = ::mkdtemp(pattern);
    path_ = made != nullptr ? made : "";
}

TempDir::~TempDir() {
    if (!path_.empty()) {
        std::error_code ignored;
        std::filesystem::remove_all(path_, ignored);
    }
}

std::string TempDir::write(const std::string& name, std::string_view content) const {
    const std::filesystem::path full = std::filesystem::path(path_) / name;
    std::filesystem::create_directories(full.parent_path());
    std::ofstream out(full, std::ios::binary | std::ios::trunc);
    out.write(content.data(), static_cast<std::streamsize>(content.size()));
    return full.string();
}

}  // namespace wsgid::testing
