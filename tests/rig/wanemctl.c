// SPDX-License-Identifier: MIT
/*
 * hopmesh-wanemctl SOCKET COMMAND...   one command to hopmesh-wanem
 * hopmesh-wanemctl SOCKET -            commands from stdin, one a line
 *
 * Prints the emulator's answers and exits 1 if any was an error (2 if the
 * socket cannot be reached).
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "unixsock.h"

#define ANSWER_TIMEOUT_MS 10000

int main(int argc, char **argv)
{
	struct textbuf req = { 0 };
	char err[512] = "", *reply;
	bool error = false;

	bool help = argc >= 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"));

	if (argc < 3 || help) {
		fprintf(help ? stdout : stderr, "usage: hopmesh-wanemctl SOCKET COMMAND... | SOCKET -\n"
				"  e.g. hopmesh-wanemctl /run/wanem.sock set '*' '*' delay=40ms loss=1%%\n"
				"       hopmesh-wanemctl /run/wanem.sock stats   (timing per pair)\n"
				"       hopmesh-wanemctl /run/wanem.sock help    (all commands)\n");
		return help ? 0 : 2;
	}
	if (argc == 3 && !strcmp(argv[2], "-")) {
		char buf[65536];
		ssize_t r;

		while ((r = read(0, buf, sizeof(buf))) > 0)
			textbuf_append(&req, buf, (size_t)r);
	} else {
		for (int i = 2; i < argc; i++)
			textbuf_printf(&req, "%s%s", argv[i], i + 1 < argc ? " " : "\n");
	}
	if (req.failed || !req.s) {
		fprintf(stderr, "hopmesh-wanemctl: no command to send\n");
		free(req.s);
		return 2;
	}
	/* The emulator answers every line, then closes once our side is shut. */
	reply = unixsock_request(argv[1], req.s, req.len, ANSWER_TIMEOUT_MS, NULL, NULL, err, sizeof(err));
	free(req.s);
	if (!reply) {
		fprintf(stderr, "hopmesh-wanemctl: %s\n", err);
		return 2;
	}
	for (const char *line = reply; *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : "")
		if (!strncmp(line, "error:", 6))
			error = true;
	fputs(reply, stdout);
	free(reply);
	return fflush(stdout) ? 2 : error ? 1 : 0;
}
