"""Build exported firmware with arm-none-eabi-gcc against a real TFLM tree, run it on an emulated
Cortex-M4F (QEMU mps2-an386) and compare it with the host simulation, counting instructions."""
