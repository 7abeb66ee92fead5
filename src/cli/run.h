#pragma once
// The whole `ram` command line as a function, so that the flag fuzzer and the tests drive exactly
// what the program runs. Prints errors as "ram: error: ..." and returns the exit code.
#include <string>

#include "commands.h"

namespace ram::cli {

int run(int argc, const char* const* argv, Reach reach = Reach::whole_command);

// The command line run() was given, as typed ("ram train --preset ..."), for the record a run
// directory keeps (run.json).
const std::string& command_line();

}  // namespace ram::cli
