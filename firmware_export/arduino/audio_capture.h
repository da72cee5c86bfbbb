// PDM microphone → ring buffer of int16 samples, filled from the PDM interrupt.
#ifndef KWS_AUDIO_CAPTURE_H_
#define KWS_AUDIO_CAPTURE_H_

#include <stdint.h>

// Starts the on-board microphone, mono at kAudioSampleFrequency. False if PDM refused.
bool AudioCaptureBegin();

// Samples captured since AudioCaptureBegin() (wraps after ~74 hours at 16 kHz).
uint32_t AudioSamplesWritten();

// Copies samples [first, first + count) into `dest`. False when the ring already overwrote them:
// the main loop fell behind by more than the ring's length.
bool AudioCaptureRead(uint32_t first, int16_t* dest, int count);

#endif  // KWS_AUDIO_CAPTURE_H_
