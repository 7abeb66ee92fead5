// ram: train, evaluate and inspect Recurrent Attention Models.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <exception>

#include "commands.h"
#include "ram/error.h"

int main(int argc, char** argv) {
  CLI::App app{"ram: the Recurrent Attention Model (Mnih et al., NIPS 2014)"};
  app.require_subcommand(1);
  ram::cli::add_train_command(app);
  ram::cli::add_eval_command(app);
  ram::cli::add_info_command(app);
  ram::cli::add_bench_command(app);
  ram::cli::add_reproduce_command(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::fprintf(stderr, "ram: error: %s (see ram --help)\n", e.what());
    return 2;
  } catch (const ram::cli::ExitRequest& e) {
    return e.code;
  } catch (const ram::Error& e) {
    std::fprintf(stderr, "ram: error: %s\n", e.what());
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "ram: error: %s\n", e.what());
    return 1;
  }
  return 0;
}
