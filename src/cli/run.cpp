#include "run.h"

#include <CLI/CLI.hpp>
#include <cstdio>
#include <exception>

#include "commands.h"
#include "ram/util/error.h"

namespace ram::cli {

void add_commands(CLI::App& app, Reach reach) {
  add_train_command(app, reach);
  add_eval_command(app, reach);
  add_info_command(app, reach);
  add_bench_command(app, reach);
  add_glimpses_command(app, reach);
  add_reproduce_command(app, reach);
  add_report_command(app, reach);
  add_compare_command(app, reach);
  add_catch_command(app, reach);
  add_tradeoff_command(app, reach);
}

int run(int argc, const char* const* argv, Reach reach) {
  CLI::App app{"ram: the Recurrent Attention Model (Mnih et al., NIPS 2014)"};
  app.require_subcommand(1);
  add_commands(app, reach);
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::fprintf(stderr, "ram: error: %s (see ram --help)\n", e.what());
    return 2;
  } catch (const ExitRequest& e) {
    return e.code;
  } catch (const Error& e) {
    std::fprintf(stderr, "ram: error: %s\n", e.what());
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "ram: error: %s\n", e.what());
    return 1;
  }
  return 0;
}

}  // namespace ram::cli
