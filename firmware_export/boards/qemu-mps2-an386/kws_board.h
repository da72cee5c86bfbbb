// The emulated board's services to the self-test: output, exit code and an instruction counter.
#ifndef KWS_BOARD_H_
#define KWS_BOARD_H_

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

// QEMU runs with -icount shift=0 (1 ns of virtual time per executed instruction) and clocks the
// CMSDK timers at 25 MHz, so one timer tick is KWS_INSTRUCTIONS_PER_TICK instructions.
#define KWS_INSTRUCTIONS_PER_TICK 40

// Timer ticks since start-up (wraps after 2^32 ticks = 171.8 G instructions); subtract two readings.
uint32_t KwsBoardTicks(void);

// Executes exactly 2 * iterations instructions (subs + bne), to calibrate the counter.
void KwsBoardBusyLoop(uint32_t iterations);

// Ends the emulation with `code` as QEMU's exit status (semihosting SYS_EXIT_EXTENDED).
void KwsBoardExit(int code) __attribute__((noreturn));

#ifdef __cplusplus
}
#endif

#endif  // KWS_BOARD_H_
