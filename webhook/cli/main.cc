#include "webhook/cli/cli.h"

int main(int argc, char** argv) { return imagegate::webhook::run_cli(argc, argv); }
