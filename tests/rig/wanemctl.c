// SPDX-License-Identifier: MIT
/*
 * hopmesh-wanemctl SOCKET COMMAND...   one command to hopmesh-wanem
 * hopmesh-wanemctl SOCKET -            commands from stdin, one a line
 *
 * Prints the emulator's answers and exits 1 if any was an error (2 if the
 * socket cannot be reached).
 */
#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static bool write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return false;
		}
		p += w;
		n -= (size_t)w;
	}
	return true;
}

int main(int argc, char **argv)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	char buf[65536];
	bool error = false, bol = true;
	int fd;

	if (argc < 3 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		fprintf(stderr, "usage: hopmesh-wanemctl SOCKET COMMAND... | SOCKET -\n"
				"  e.g. hopmesh-wanemctl /run/wanem.sock set '*' '*' delay=40ms loss=1%%\n"
				"       hopmesh-wanemctl /run/wanem.sock stats   (timing per pair)\n"
				"       hopmesh-wanemctl /run/wanem.sock help    (all commands)\n");
		return 2;
	}
	if (strlen(argv[1]) >= sizeof(sun.sun_path)) {
		fprintf(stderr, "hopmesh-wanemctl: socket path too long\n");
		return 2;
	}
	memcpy(sun.sun_path, argv[1], strlen(argv[1]) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sun, sizeof(sun))) {
		fprintf(stderr, "hopmesh-wanemctl: %s: %s\n", argv[1], strerror(errno));
		return 2;
	}
	if (argc == 3 && !strcmp(argv[2], "-")) {
		ssize_t r;

		while ((r = read(0, buf, sizeof(buf))) > 0)
			if (!write_all(fd, buf, (size_t)r))
				break;
	} else {
		for (int i = 2; i < argc; i++)
			if (!write_all(fd, argv[i], strlen(argv[i])) ||
			    !write_all(fd, i + 1 < argc ? " " : "\n", 1))
				break;
	}
	shutdown(fd, SHUT_WR);
	for (;;) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		ssize_t r;

		if (poll(&p, 1, 10000) <= 0) {
			fprintf(stderr, "hopmesh-wanemctl: no answer from %s\n", argv[1]);
			return 2;
		}
		r = read(fd, buf, sizeof(buf));
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		for (ssize_t i = 0; i < r; i++) {
			if (bol && i + 6 <= r && !memcmp(buf + i, "error:", 6))
				error = true;
			bol = buf[i] == '\n';
		}
		if (!write_all(1, buf, (size_t)r))
			return 2;
	}
	close(fd);
	return error ? 1 : 0;
}
