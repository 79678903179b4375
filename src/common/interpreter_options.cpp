// SPDX-License-Identifier: Apache-2.0
#include "common/interpreter_options.h"

namespace wsgid::common {

void applyInterpreterOptions(const std::vector<InterpreterOptions>& sections,
                             std::string_view applicationGroup, PythonSettings& base,
                             std::vector<std::string>& basePythonPath) {
    for (const InterpreterOptions& s : sections) {
        if (s.applicationGroup && *s.applicationGroup != applicationGroup) {
            continue;
        }
        if (s.restrictStdin) {
            base.restrictStdin = *s.restrictStdin;
        }
        if (s.restrictStdout) {
            base.restrictStdout = *s.restrictStdout;
        }
        if (s.restrictSignal) {
            base.restrictSignal = *s.restrictSignal;
        }
        if (s.switchInterval) {
            base.switchInterval = s.switchInterval;
        }
        basePythonPath.insert(basePythonPath.end(), s.pythonPath.begin(), s.pythonPath.end());
    }
}

}  // namespace wsgid::common
