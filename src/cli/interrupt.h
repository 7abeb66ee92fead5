#pragma once
// Ctrl-C during training: the first one asks the trainer to stop after the current update with
// a checkpoint; the handler is one-shot (SA_RESETHAND), so a second Ctrl-C ends the program.
// In a distributed run SIGTERM does the same: mpirun turns a Ctrl-C into SIGTERM to every
// process (then SIGKILL a second later, by default), as Slurm does at a job's time limit.
namespace ram::cli {

void stop_on_first_interrupt();
bool interrupt_requested();

}  // namespace ram::cli
