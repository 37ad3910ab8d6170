/* server: the composition root of `laoyou run` — builds the modules in
 * order, runs the loop, reloads on SIGHUP and drains on SIGTERM. */
#ifndef LAOYOU_SERVER_H
#define LAOYOU_SERVER_H

/** Run the server from config file path until SIGTERM/SIGINT; exit code. */
int server_run(const char *path);

#endif
