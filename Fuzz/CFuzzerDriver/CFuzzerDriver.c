// The declaration is all this target provides; libFuzzer defines the function.
#include "CFuzzerDriver.h"
