#ifndef FTH_CLI_H
#define FTH_CLI_H
/* The ftrack-host command line: `ftrack-host [run]`, `hub`, `publish`, `plugins`, ...
 * Returns the process exit code (0 ok, 1 runtime failure, 2 usage or configuration). */
int fth_cli_main(int argc, char **argv);
#endif
