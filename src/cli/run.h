#pragma once
// The whole `ram` command line as a function, so that the flag fuzzer and the tests drive exactly
// what the program runs. Prints errors as "ram: error: ..." and returns the exit code.
#include <string>

#include "commands.h"
#include "ram/run/processes.h"

namespace ram::cli {

// `processes`: the run's MPI processes (main's MpiSession), one process by default. In a
// distributed run only the root prints to standard output; an error on any process prints
// "ram: error: rank R of N (host): ..." and ends every process (MPI_Abort).
int run(int argc, const char* const* argv, Reach reach = Reach::whole_command,
        const Processes& processes = {});

// The processes run() was given, for the commands that train or evaluate.
const Processes& processes();

// The command line run() was given, as typed ("ram train --preset ..."), for the record a run
// directory keeps (run.json).
const std::string& command_line();

}  // namespace ram::cli
