#ifndef PSA_OFFBOARDER_FUZZER_DRIVER_H
#define PSA_OFFBOARDER_FUZZER_DRIVER_H
#include <stddef.h>
#include <stdint.h>

// libFuzzer's entry point for programs with a main of their own (defined only in builds with
// -sanitize=fuzzer; the runner calls it only then).
int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*UserCb)(const uint8_t *Data, size_t Size));

#endif
