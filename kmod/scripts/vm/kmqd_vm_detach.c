// SPDX-License-Identifier: GPL-2.0-only
/*
 * kmqd_vm_detach.c - inside the kmqd test VM: detach every store kmq.ko
 * still has attached under a kmqd name ("kmqd-..."), as kmqd-run.sh does
 * after each suite.
 *
 * A kmqd killed with SIGKILL leaves its store attached: the module keeps
 * it for the next kmqd to bind to. A suite that does not start one again
 * on that store leaves it behind, and an attached store holds the module
 * (rmmod would fail). Each store detached is named on stdout as a TAP
 * diagnostic ("# ..."), so the host sees which suite left which store.
 *
 * Built static by vmtest-kmqd.sh: cc -static -Iuapi.
 * Usage: kmqd_vm_detach. Exit: 0, or 1 if a detach failed.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "kmq_ioctl.h"

int main(void)
{
	char line[4096], name[KMQ_STORE_NAME_MAX], path[4096];
	struct kmq_detach d;
	unsigned int id;
	int fd, ret = 0;
	FILE *f;

	f = fopen("/proc/kmq/stores", "re");
	if (!f) {
		printf("# kmqd_vm_detach: /proc/kmq/stores: %s\n",
		       strerror(errno));
		return 1;
	}
	fd = open("/dev/" KMQ_DEV_NAME, O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		printf("# kmqd_vm_detach: /dev/kmq: %s\n", strerror(errno));
		fclose(f);
		return 1;
	}
	while (fgets(line, sizeof(line), f)) {
		/* id name ... path: the header line does not parse. */
		if (sscanf(line, "%u %63s %*s %*s %*s %*s %*s %*s %*s %*s %*s %4095s",
			   &id, name, path) != 3 || strncmp(name, "kmqd-", 5))
			continue;
		memset(&d, 0, sizeof(d));
		d.size = sizeof(d);
		snprintf(d.name, sizeof(d.name), "%s", name);
		if (ioctl(fd, KMQ_IOC_DETACH, &d)) {
			printf("# kmqd_vm_detach: detach %s: %s\n", name,
			       strerror(errno));
			ret = 1;
		} else {
			printf("# kmqd_vm_detach: store %u %s (%s) was still attached: detached\n",
			       id, name, path);
		}
	}
	close(fd);
	fclose(f);
	return ret;
}
