#include "kws_log.h"

#include <stdio.h>

#include "tensorflow/lite/micro/cortex_m_generic/debug_log_callback.h"

extern "C" __attribute__((weak)) void KwsBoardLog(const char* text) {
  fputs(text, stdout);
  fflush(stdout);
}

void KwsStartLogging() { RegisterDebugLogCallback(KwsBoardLog); }
