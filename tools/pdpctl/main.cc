// pdpctl: offline commands over a policy directory. See commands.h.
#include <iostream>
#include <string>
#include <vector>

#include "tools/pdpctl/commands.h"

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  return pdpctl::Run(args, std::cout, std::cerr);
}
