#pragma once
// The whole `ram` command line as a function, so that the flag fuzzer and the tests drive exactly
// what the program runs. Prints errors as "ram: error: ..." and returns the exit code.
#include "commands.h"

namespace ram::cli {

int run(int argc, const char* const* argv, Reach reach = Reach::whole_command);

}  // namespace ram::cli
