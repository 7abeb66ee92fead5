// ram: train, evaluate and inspect Recurrent Attention Models.
#include "ram/run/processes.h"
#include "run.h"

int main(int argc, char** argv) {
  const ram::MpiSession session(argc, argv);
  return ram::cli::run(argc, argv, ram::cli::Reach::whole_command, session.processes());
}
