// Board layer for QEMU's mps2-an386 (Cortex-M4F): vector table and reset, FPU on, output and exit
// through Arm semihosting, and an instruction counter (CMSDK APB timer 0 under -icount shift=0).
#include <stdint.h>
#include <string.h>

#include "kws_board.h"

extern uint32_t _sidata, _sdata, _edata, _sbss, _ebss, _estack;
extern int main(void);
extern void __libc_init_array(void);

#define SCB_CPACR (*(volatile uint32_t*)0xE000ED88u)
#define TIMER0_CTRL (*(volatile uint32_t*)0x40000000u)
#define TIMER0_VALUE (*(volatile uint32_t*)0x40000004u)
#define TIMER0_RELOAD (*(volatile uint32_t*)0x40000008u)

enum { kSysWrite0 = 0x04, kSysExitExtended = 0x20, kAdpStoppedApplicationExit = 0x20026 };

static int Semihost(int operation, const void* argument) {
  register int r0 __asm__("r0") = operation;
  register const void* r1 __asm__("r1") = argument;
  __asm__ volatile("bkpt 0xAB" : "+r"(r0) : "r"(r1) : "memory");
  return r0;
}

// Replaces the weak stdout default of kws_log.cc: TFLM's MicroPrintf lands here.
void KwsBoardLog(const char* text) { Semihost(kSysWrite0, text); }

void KwsBoardExit(int code) {
  const uint32_t block[2] = {kAdpStoppedApplicationExit, (uint32_t)code};
  Semihost(kSysExitExtended, block);
  for (;;) {
  }
}

uint32_t KwsBoardTicks(void) { return 0xFFFFFFFFu - TIMER0_VALUE; }

void KwsBoardBusyLoop(uint32_t iterations) {
  __asm__ volatile("1: subs %0, %0, #1\n\tbne 1b" : "+r"(iterations) : : "cc");
}

void Reset_Handler(void) {
  SCB_CPACR |= 0xFu << 20;  // CP10/CP11: the FPU, before any float instruction
  __asm__ volatile("dsb\n\tisb");
  memcpy(&_sdata, &_sidata, (size_t)((char*)&_edata - (char*)&_sdata));
  memset(&_sbss, 0, (size_t)((char*)&_ebss - (char*)&_sbss));
  TIMER0_RELOAD = 0xFFFFFFFFu;
  TIMER0_VALUE = 0xFFFFFFFFu;
  TIMER0_CTRL = 1u;  // enable, counting down at the 25 MHz system clock
  __libc_init_array();
  KwsBoardExit(main());
}

static void Fault(const char* what) {
  KwsBoardLog(what);
  KwsBoardExit(3);
}

static void HardFault_Handler(void) { Fault("kws: HardFault\n"); }
static void Other_Handler(void) { Fault("kws: unexpected exception\n"); }

__attribute__((section(".vectors"), used)) static void (*const g_vectors[16])(void) = {
    (void (*)(void))(&_estack), Reset_Handler, Other_Handler, HardFault_Handler, Other_Handler, Other_Handler,
    Other_Handler, 0, 0, 0, 0, Other_Handler, Other_Handler, 0, Other_Handler, Other_Handler,
};
