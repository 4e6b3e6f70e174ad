#include "cli.h"

int main(int argc, char **argv) { return fleetsim_main(argc, argv); }
