#include "pipelines/cli/commands.h"

int main(int argc, char** argv) { return kd::cli::main(argc, argv); }
