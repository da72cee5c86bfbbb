#include "audio_capture.h"

#include <Arduino.h>
#include <PDM.h>

#include "model_settings.h"

namespace {

constexpr uint32_t kRingSamples = kAudioRingSamples;  // ≥ one inference stride + 256 ms; a power of two
constexpr int kPdmGain = 20;
int16_t g_ring[kRingSamples];
int16_t g_pdm_chunk[256];
volatile uint32_t g_written = 0;

void OnPdmData() {
  int bytes = PDM.available();
  while (bytes > 0) {
    const int take = bytes < static_cast<int>(sizeof(g_pdm_chunk)) ? bytes : static_cast<int>(sizeof(g_pdm_chunk));
    const int read = PDM.read(g_pdm_chunk, take);
    if (read <= 0) return;
    const int samples = read / 2;
    uint32_t written = g_written;
    for (int i = 0; i < samples; ++i) g_ring[(written + i) % kRingSamples] = g_pdm_chunk[i];
    g_written = written + samples;
    bytes -= read;
  }
}

}  // namespace

bool AudioCaptureBegin() {
  PDM.onReceive(OnPdmData);
  if (!PDM.begin(1, kAudioSampleFrequency)) return false;
  PDM.setGain(kPdmGain);
  return true;
}

uint32_t AudioSamplesWritten() { return g_written; }

bool AudioCaptureRead(uint32_t first, int16_t* dest, int count) {
  if (g_written - first > kRingSamples) return false;
  for (int i = 0; i < count; ++i) dest[i] = g_ring[(first + i) % kRingSamples];
  // The interrupt may have lapped us while copying.
  return g_written - first <= kRingSamples;
}
