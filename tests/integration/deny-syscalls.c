/* SPDX-License-Identifier: MIT */
/*
 * deny-syscalls ERRNO NAME[,NAME...] PROGRAM [ARG...]: run PROGRAM where
 * the named system calls fail with ERRNO, through a seccomp filter, which
 * its children inherit. For the tests of what lbd does where the kernel
 * lacks something (38 ENOSYS) or a policy forbids it (1 EPERM):
 *   io_uring   io_uring_setup, io_uring_enter, io_uring_register (a uring
 *              worker model that cannot run: test-uring-unavailable)
 *   landlock   the three Landlock calls (a kernel without Landlock)
 *   seccomp    seccomp() (a filter around lbd that refuses it)
 * Names are those groups or single calls of the table below.
 */
#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

static const struct {
        const char *name;
        int nr[3];
} calls[] = {
        { "io_uring", { __NR_io_uring_setup, __NR_io_uring_enter, __NR_io_uring_register } },
        { "landlock",
          { __NR_landlock_create_ruleset, __NR_landlock_add_rule, __NR_landlock_restrict_self } },
        { "seccomp", { __NR_seccomp, -1, -1 } },
};

#define MAX_DENIED 16

int main(int argc, char **argv) {
        if (argc < 4) {
                fprintf(stderr, "usage: %s ERRNO NAME[,NAME...] PROGRAM [ARG...]\n", argv[0]);
                return 2;
        }
        unsigned err = (unsigned)strtoul(argv[1], NULL, 10);
        int denied[MAX_DENIED];
        size_t n = 0;
        for (char *name = strtok(argv[2], ","); name; name = strtok(NULL, ",")) {
                size_t i = 0;
                while (i < sizeof calls / sizeof calls[0] && strcmp(calls[i].name, name) != 0)
                        i++;
                if (i == sizeof calls / sizeof calls[0]) {
                        fprintf(stderr, "deny-syscalls: unknown name '%s'\n", name);
                        return 2;
                }
                for (size_t k = 0; k < 3 && calls[i].nr[k] >= 0 && n < MAX_DENIED; k++)
                        denied[n++] = calls[i].nr[k];
        }
        /* arch check, load nr, then per denied call: jump-if-equal to the
         * ERRNO return, else on; finally allow. */
        struct sock_filter filter[4 + 2 * MAX_DENIED + 1];
        size_t f = 0;
        filter[f++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
                                                   offsetof(struct seccomp_data, arch));
        filter[f++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64,
                                                   1, 0);
        filter[f++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
        filter[f++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
                                                   offsetof(struct seccomp_data, nr));
        for (size_t i = 0; i < n; i++) {
                filter[f++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K,
                                                           (unsigned)denied[i], 0, 1);
                filter[f++] = (struct sock_filter)BPF_STMT(
                        BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (err & SECCOMP_RET_DATA));
        }
        filter[f++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
        struct sock_fprog prog = { .len = (unsigned short)f, .filter = filter };
        if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
            prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) < 0) {
                perror("deny-syscalls: seccomp");
                return 1;
        }
        execvp(argv[3], argv + 3);
        perror("deny-syscalls: exec");
        return 127;
}
