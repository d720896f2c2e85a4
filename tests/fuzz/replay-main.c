/* SPDX-License-Identifier: MIT */
/*
 * The main() of every fuzz target when it is not a libFuzzer binary: runs
 * the files and directories named on the command line (a seed corpus)
 * through the target's LLVMFuzzerTestOneInput() once each, so that every
 * build, gcc's and the sanitizers' included, exercises the target's checks
 * (meson's fuzz suite). Exits 1 if nothing was found or a file cannot be
 * read; a target's broken promise aborts.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Without libFuzzer: run the given files (and the files in the given
 * directories) once each. */
static int run_file(const char *path) {
        FILE *f = fopen(path, "rb");
        uint8_t *data = NULL;
        size_t size = 0, cap = 0;

        if (!f) {
                perror(path);
                return -1;
        }
        for (;;) {
                if (size == cap) {
                        cap = cap ? cap * 2 : 4096;
                        data = realloc(data, cap);
                        if (!data)
                                abort();
                }
                size_t n = fread(data + size, 1, cap - size, f);
                if (n == 0)
                        break;
                size += n;
        }
        if (ferror(f)) {
                perror(path);
                fclose(f);
                free(data);
                return -1;
        }
        fclose(f);
        LLVMFuzzerTestOneInput(data, size);
        free(data);
        return 1;
}

static int run_path(const char *path) {
        struct stat st;

        if (stat(path, &st) < 0) {
                perror(path);
                return -1;
        }
        if (!S_ISDIR(st.st_mode))
                return run_file(path);

        struct dirent **entries;
        int n = scandir(path, &entries, NULL, alphasort), count = 0;
        if (n < 0) {
                perror(path);
                return -1;
        }
        for (int i = 0; i < n; i++) {
                if (entries[i]->d_name[0] != '.' && count >= 0) {
                        char *p;
                        if (asprintf(&p, "%s/%s", path, entries[i]->d_name) < 0)
                                abort();
                        int r = run_path(p);
                        count = r < 0 ? -1 : count + r;
                        free(p);
                }
                free(entries[i]);
        }
        free(entries);
        return count;
}

int main(int argc, char **argv) {
        int total = 0;

        if (argc < 2) {
                fprintf(stderr, "usage: %s FILE|DIR...\n", argv[0]);
                return 2;
        }
        for (int i = 1; i < argc; i++) {
                int r = run_path(argv[i]);
                if (r < 0)
                        return 1;
                total += r;
        }
        if (total == 0) {
                fprintf(stderr, "no inputs found\n");
                return 1;
        }
        printf("%d inputs passed\n", total);
        return 0;
}
