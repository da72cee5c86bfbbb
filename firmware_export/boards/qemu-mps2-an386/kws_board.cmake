# Board layer: QEMU's mps2-an386 machine (Arm MPS2 FPGA image AN386, a Cortex-M4F), for checking a
# model before you own a board and for CI. Run: kws run-emulated OUT (see firmware_export/README.md).
set(KWS_BOARD_SOURCES ${CMAKE_CURRENT_LIST_DIR}/board.c)
set(KWS_LINKER_SCRIPT ${CMAKE_CURRENT_LIST_DIR}/mps2_an386.ld)
set(KWS_APP_SOURCES test_audio.cc)
set(KWS_NEEDS_FRONTEND ON)
