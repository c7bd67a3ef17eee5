/* The entry point every fuzz target defines (libFuzzer's signature): one
 * call per input, returning 0. Built with clang -fsanitize=fuzzer it is
 * driven by libFuzzer; fuzz_driver.c drives it in the gcc build. */
#ifndef TM_FUZZ_H
#define TM_FUZZ_H

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#endif
