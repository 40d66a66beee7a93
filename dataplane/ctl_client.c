// SPDX-License-Identifier: MIT
/*
 * hopmesh-ctl: one request to a gateway's control socket, reply on stdout.
 *
 *   hopmesh-ctl [-d RUN_DIR] NAME counters
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	const char *dir = "/var/run/hopmesh";
	char line[4096], reply[65536];
	size_t len = 0;
	ssize_t n;
	int fd, argi = 1;

	if (argc > 2 && !strcmp(argv[1], "-d")) {
		dir = argv[2];
		argi = 3;
	}
	if (argc - argi < 2) {
		fprintf(stderr, "usage: %s [-d RUN_DIR] NAME COMMAND [ARGS...]\n", argv[0]);
		return 2;
	}
	if ((size_t)snprintf(addr.sun_path, sizeof(addr.sun_path), "%s/%s.ctl", dir, argv[argi]) >=
	    sizeof(addr.sun_path)) {
		fprintf(stderr, "%s: socket path too long\n", argv[0]);
		return 2;
	}
	for (int i = argi + 1; i < argc; i++) {
		int w = snprintf(line + len, sizeof(line) - len, "%s%s", i > argi + 1 ? " " : "", argv[i]);

		if (w < 0 || (size_t)w >= sizeof(line) - len - 1) {
			fprintf(stderr, "%s: request too long\n", argv[0]);
			return 2;
		}
		len += (size_t)w;
	}
	line[len++] = '\n';
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&addr, sizeof(addr))) {
		fprintf(stderr, "%s: %s: %s\n", argv[0], addr.sun_path, strerror(errno));
		return 1;
	}
	if (write(fd, line, len) != (ssize_t)len) {
		fprintf(stderr, "%s: write: %s\n", argv[0], strerror(errno));
		return 1;
	}
	len = 0;
	while (len < sizeof(reply) - 1 && (n = read(fd, reply + len, sizeof(reply) - 1 - len)) > 0) {
		len += (size_t)n;
		if (reply[len - 1] == '\n')
			break;
	}
	close(fd);
	if (!len) {
		fprintf(stderr, "%s: no reply\n", argv[0]);
		return 1;
	}
	fwrite(reply, 1, len, stdout);
	return strstr(reply, "\"error\"") ? 1 : 0;
}
