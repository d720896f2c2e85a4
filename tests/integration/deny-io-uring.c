/* SPDX-License-Identifier: MIT */
/*
 * deny-io-uring ERRNO PROGRAM [ARG...]: run PROGRAM where io_uring_setup(),
 * io_uring_enter() and io_uring_register() fail with ERRNO (38 ENOSYS: a
 * kernel without io_uring; 1 EPERM: kernel.io_uring_disabled=2 or a
 * policy that forbids it), through a seccomp filter, which its children
 * inherit. For the tests of a uring worker model that cannot run.
 */
#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#define DENY(nr) BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (nr), 0, 1), \
                 BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (err & SECCOMP_RET_DATA))

int main(int argc, char **argv) {
        if (argc < 3) {
                fprintf(stderr, "usage: %s ERRNO PROGRAM [ARG...]\n", argv[0]);
                return 2;
        }
        unsigned err = (unsigned)strtoul(argv[1], NULL, 10);
        struct sock_filter filter[] = {
                BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
                BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
                BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
                BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
                DENY(__NR_io_uring_setup),
                DENY(__NR_io_uring_enter),
                DENY(__NR_io_uring_register),
                BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
        };
        struct sock_fprog prog = { .len = sizeof filter / sizeof filter[0], .filter = filter };
        if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
            prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) < 0) {
                perror("deny-io-uring: seccomp");
                return 1;
        }
        execvp(argv[2], argv + 2);
        perror("deny-io-uring: exec");
        return 127;
}
