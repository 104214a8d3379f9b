#include "webhook/cli.h"

int main(int argc, char** argv) { return imagegate::webhook::run_cli(argc, argv); }
