// ram: train, evaluate and inspect Recurrent Attention Models.
#include "run.h"

int main(int argc, char** argv) {
  return ram::cli::run(argc, argv);
}
