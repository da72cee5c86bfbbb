# Cross-compiling for Cortex-M with the GNU Arm Embedded toolchain (arm-none-eabi-gcc on PATH).
# The core comes from -DKWS_CPU=... or the generated kws_target.cmake next to this file.
set(CMAKE_SYSTEM_NAME Generic)
set(CMAKE_SYSTEM_PROCESSOR arm)
set(CMAKE_TRY_COMPILE_TARGET_TYPE STATIC_LIBRARY)

include(${CMAKE_CURRENT_LIST_DIR}/kws_target.cmake OPTIONAL)
if(NOT KWS_CPU)
  set(KWS_CPU cortex-m4)
endif()
list(APPEND CMAKE_TRY_COMPILE_PLATFORM_VARIABLES KWS_CPU)

set(CMAKE_C_COMPILER arm-none-eabi-gcc)
set(CMAKE_CXX_COMPILER arm-none-eabi-g++)
set(CMAKE_ASM_COMPILER arm-none-eabi-gcc)
set(CMAKE_OBJCOPY arm-none-eabi-objcopy CACHE FILEPATH "")
set(CMAKE_SIZE arm-none-eabi-size CACHE FILEPATH "")

# Hardware float where the core has an FPU; a prebuilt TFLM_LIB must use the same ABI.
if(KWS_CPU STREQUAL "cortex-m4")
  set(KWS_FPU_FLAGS "-mfpu=fpv4-sp-d16 -mfloat-abi=hard")
elseif(KWS_CPU STREQUAL "cortex-m7" OR KWS_CPU STREQUAL "cortex-m33")
  set(KWS_FPU_FLAGS "-mfpu=fpv5-sp-d16 -mfloat-abi=hard")
elseif(KWS_CPU STREQUAL "cortex-m55")
  set(KWS_FPU_FLAGS "-mfloat-abi=hard")
else()
  set(KWS_FPU_FLAGS "-mfloat-abi=soft")
endif()

set(KWS_ARCH_FLAGS "-mcpu=${KWS_CPU} -mthumb ${KWS_FPU_FLAGS}")
set(CMAKE_C_FLAGS_INIT "${KWS_ARCH_FLAGS} -ffunction-sections -fdata-sections")
set(CMAKE_CXX_FLAGS_INIT "${KWS_ARCH_FLAGS} -ffunction-sections -fdata-sections -fno-rtti -fno-exceptions -fno-threadsafe-statics")
set(CMAKE_ASM_FLAGS_INIT "${KWS_ARCH_FLAGS}")
set(CMAKE_EXE_LINKER_FLAGS_INIT "${KWS_ARCH_FLAGS} -Wl,--gc-sections --specs=nano.specs --specs=nosys.specs")

set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
