/* SPDX-License-Identifier: MIT */
/* An ordinary program: built as an ELF executable (PIE and not), which a
 * test copies in as x.so for the loader to refuse. */
int main(void) { return 0; }
