// When and how the model runs on the feature stream: one definition for the Arduino sketch, the
// CMake app and the emulated board's self-test, so all of them run the model the host simulates.
//
// Whole-window model: once kFeatureSliceCount rows are in, every kInferenceStrideFrames frames, the
// model reads the whole feature buffer.
// Streaming twin (KWS_STREAM_MODEL, from a ds_cnn_stream embedding): every kStreamHopFrames frames
// from power-up the twin reads only the hop's new rows; each layer's state output is copied back to
// its state input after the invoke (reset: every state input holds its zero point). Its output is
// the whole-window model's on the window ending there; the recognizer takes it at the windows ending
// on frame kStreamFirstDecisionFrame + k * kInferenceStrideFrames (host: toolchain/simulate/twin.py).
#ifndef KWS_MODEL_LOOP_H_
#define KWS_MODEL_LOOP_H_

#include <stdint.h>
#include <string.h>

#include "model_runner.h"
#include "model_settings.h"
#include "tensorflow/lite/micro/micro_interpreter.h"

// How often the model runs: its work must fit this period (the twin's hop, whatever the recognizer's stride).
#ifdef KWS_STREAM_MODEL
constexpr int kModelPeriodMs = kStreamHopMs;
#else
constexpr int kModelPeriodMs = kInferenceStrideMs;
#endif

struct ModelStep {
  bool ran;        // the model was invoked for the newest row
  bool decide;     // and its scores belong to a recognizer decision
  int last_frame;  // index of the newest feature row, from 0 at power-up
};

class ModelLoop {
 public:
  // Starts the interpreter over `arena` (kTensorArenaSize bytes); `profiler` (optional) times each
  // operator. Returns nullptr, or why it cannot run.
  const char* Begin(uint8_t* arena, tflite::MicroProfilerInterface* profiler = nullptr) {
    if (const char* problem = StartInterpreter(arena, &interpreter_, profiler)) return problem;
    Reset();
    return nullptr;
  }

  // Power-up state: no frames seen; a streaming twin's states back at their zero points.
  void Reset() {
    frames_ = 0;
#ifdef KWS_STREAM_MODEL
    for (int i = 0; i < kStreamStateCount; ++i) {
      TfLiteTensor* state = interpreter_->input(kStreamStates[i].input);
      memset(state->data.int8, state->params.zero_point, kStreamStates[i].bytes);
    }
#endif
  }

  // New rows to add before the model is next due (at least 1). Feed no more at once.
  int FramesUntilDue() const {
#ifdef KWS_STREAM_MODEL
    return kStreamHopFrames - frames_ % kStreamHopFrames;
#else
    if (frames_ < kFeatureSliceCount) return kFeatureSliceCount - frames_;
    return kInferenceStrideFrames - (frames_ - kFeatureSliceCount) % kInferenceStrideFrames;
#endif
  }

  // `features` (kFeatureSliceCount rows, oldest first) has just received `rows` new rows at its end,
  // at most FramesUntilDue(). Runs the model when it is due. Returns nullptr, or what failed.
  const char* Advance(const int8_t* features, int rows, ModelStep* step) {
    step->ran = step->decide = false;
    if (rows <= 0) {
      step->last_frame = frames_ - 1;
      return nullptr;
    }
    if (rows > FramesUntilDue()) return "more feature rows than FramesUntilDue(): a model run was skipped";
    const bool due = rows == FramesUntilDue();
    frames_ += rows;
    step->last_frame = frames_ - 1;
    if (!due) return nullptr;
    memcpy(interpreter_->input(kModelFramesInput)->data.int8, features + kFeatureElementCount - kModelFramesInputBytes,
           kModelFramesInputBytes);
    if (interpreter_->Invoke() != kTfLiteOk) return "Invoke failed";
    // The scores first: copying the states may overwrite them (TFLM reuses an input's memory once read).
    memcpy(scores_, interpreter_->output(kModelScoresOutput)->data.int8, kCategoryCount);
#ifdef KWS_STREAM_MODEL
    // Every state output is read before any state input is written: an output may lie on another state's input.
    int8_t* copy = state_copy_;
    for (int i = 0; i < kStreamStateCount; ++i) {
      memcpy(copy, interpreter_->output(kStreamStates[i].output)->data.int8, kStreamStates[i].bytes);
      copy += kStreamStates[i].bytes;
    }
    copy = state_copy_;
    for (int i = 0; i < kStreamStateCount; ++i) {
      memcpy(interpreter_->input(kStreamStates[i].input)->data.int8, copy, kStreamStates[i].bytes);
      copy += kStreamStates[i].bytes;
    }
    const int decision = step->last_frame - kStreamFirstDecisionFrame;
    step->decide = decision >= 0 && decision % kInferenceStrideFrames == 0;
#else
    step->decide = true;
#endif
    step->ran = true;
    return nullptr;
  }

  // The int8 scores of the last run (kCategoryCount, quantized with kOutputScale / kOutputZeroPoint).
  const int8_t* scores() const { return scores_; }
  tflite::MicroInterpreter& interpreter() { return *interpreter_; }

 private:
  tflite::MicroInterpreter* interpreter_ = nullptr;
  int frames_ = 0;
  int8_t scores_[kCategoryCount] = {};
#ifdef KWS_STREAM_MODEL
  int8_t state_copy_[kStreamStateBytes] = {};
#endif
};

#endif  // KWS_MODEL_LOOP_H_
