// Where MicroPrintf's lines go on a CMake board. TFLM's cortex_m_generic DebugLog formats each line
// and passes it to the callback registered by KwsStartLogging(); without one it prints nothing.
#ifndef KWS_LOG_H_
#define KWS_LOG_H_

#ifdef __cplusplus
extern "C" {
#endif

// The board's text sink (UART, RTT, semihosting). kws_log.cc holds a weak default writing to stdout,
// i.e. newlib's _write, which most board layers retarget; a board defines its own to replace it,
// with no clash against TFLM's DebugLog.
void KwsBoardLog(const char* text);

#ifdef __cplusplus
}
#endif

void KwsStartLogging();

#endif  // KWS_LOG_H_
