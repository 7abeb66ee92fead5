# Writes OUTPUT (build_info.h) with the source tree's git commit, run at every build so that
# `ram --version` names the commit the program was built from. The file is rewritten only when
# its text changes, so an unchanged tree recompiles nothing.
execute_process(COMMAND git -C "${SOURCE_DIR}" rev-parse --short=12 HEAD
                OUTPUT_VARIABLE commit OUTPUT_STRIP_TRAILING_WHITESPACE
                RESULT_VARIABLE commit_status ERROR_QUIET)
if(NOT commit_status EQUAL 0 OR commit STREQUAL "")
  set(commit "unknown (not built from a git checkout)")
else()
  execute_process(COMMAND git -C "${SOURCE_DIR}" status --porcelain --untracked-files=no
                  OUTPUT_VARIABLE changes OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
  if(NOT changes STREQUAL "")
    string(APPEND commit " with uncommitted changes")
  endif()
endif()
set(text "// Written by src/cli/build_info.cmake at build time.
#pragma once
#define RAM_GIT_COMMIT \"${commit}\"
")
if(EXISTS "${OUTPUT}")
  file(READ "${OUTPUT}" old_text)
endif()
if(NOT "${old_text}" STREQUAL "${text}")
  file(WRITE "${OUTPUT}" "${text}")
endif()
