// qbench: the QBench command-line client. Everything but the process boundary lives in
// qb_cli (client/cli.h).
#include <unistd.h>

#include <iostream>

#include "client/cli.h"

int main(int argc, char** argv) {
  return qbench::client::RunCli(argc, argv, std::cout, std::cerr, ::isatty(STDERR_FILENO) == 1);
}
