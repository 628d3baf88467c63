#pragma once
#include <stddef.h>
#include <stdint.h>

// libFuzzer's driver (compiler-rt FuzzerInterface.h), linked in by -sanitize=fuzzer. SwiftPM renames
// an executable's `main`, so the fuzz binary calls the driver from its own @main instead of using
// libFuzzer's main.
int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*callback)(const uint8_t *data, size_t size));
