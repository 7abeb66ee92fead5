#pragma once
// The whole `ram` command line as a function, so that the flag fuzzer drives exactly what the
// program runs. Prints errors as "ram: error: ..." and returns the exit code.
namespace ram::cli {

int run(int argc, const char* const* argv);

}  // namespace ram::cli
