"""What streaming saves: MACs per hop and per second of audio, int8 flash and TFLM arena, streaming vs whole window.

Cost does not depend on the weights, so each architecture is built as a keyword model (embedding +
a 3-label head), fitted for one epoch on random int8 features, quantized on them, and converted both ways: the whole-window
model (what every decision costs when the full 1 s window is recomputed) and, for the streamable
architectures, the streaming twin run once per hop. The twin's int8 outputs are compared with the
whole-window model's on TFLM over a random stream.

    python benchmarks/streaming.py
"""
from __future__ import annotations

import numpy as np

from record import write_results
from toolchain.embedding.registry import build_classifier, streaming_hop_frames
from toolchain.frontend import FrontendParams
from toolchain.tflite.converter import calibrated_tflite, quantize_calibrated, window_feeds
from toolchain.tflite.flatbuffer import total_macs
from toolchain.tflite.micro import measure_arena

ARCHITECTURES = ("ds_cnn", "ds_cnn_small", "ds_cnn_stream", "ds_cnn_stream_small")
NANO_PACE_MS = (20, 160)  # a decision every 20 ms (the frontend step) and every 160 ms (one streaming hop)


def main() -> None:
    from toolchain.convert.keyword_model import fixed_batch
    from toolchain.convert.stream_twin import convert_twin

    frontend = FrontendParams()
    rng = np.random.default_rng(0)
    representative = rng.integers(-128, 128, (48, *frontend.feature_shape)).astype(np.float32)
    figures = {}
    print(f"{'architecture':22s} {'MACs/window':>12s} {'MACs/s @20ms':>13s} {'MACs/s @160ms':>14s} {'MACs/hop':>10s} "
          f"{'MACs/s stream':>14s} {'flash':>8s} {'arena':>7s} {'stream flash':>12s} {'stream arena':>12s} {'max LSB':>7s}")
    for name in ARCHITECTURES:
        model, params = build_classifier(name, frontend.feature_shape, 3)
        # one short epoch: freshly initialised batch norms quantize to degenerate ranges that TFLM aborts on
        model.compile("adam", "sparse_categorical_crossentropy")
        model.fit(representative, rng.integers(0, 3, len(representative)), epochs=1, verbose=0)
        whole_calibrated = calibrated_tflite(fixed_batch(model), window_feeds(representative))  # batch 1, as `kws convert`
        whole = quantize_calibrated(whole_calibrated)
        window_macs = total_macs(whole)
        row = {f"{name}_window_macs": window_macs, f"{name}_window_flash_bytes": len(whole),
               f"{name}_window_arena_bytes": measure_arena(whole)}
        for pace in NANO_PACE_MS:
            row[f"{name}_window_macs_per_s_at_{pace}ms"] = window_macs * 1000 // pace
        hop = streaming_hop_frames(name, params)
        if hop:
            _, stream = convert_twin(model, hop, frontend, representative, whole, whole_calibrated)
            row |= {f"{name}_stream_hop_ms": stream["hop_ms"], f"{name}_stream_macs_per_hop": stream["macs_per_hop"],
                    f"{name}_stream_macs_per_s": stream["macs_per_second"], f"{name}_stream_flash_bytes": stream["flash_bytes"],
                    f"{name}_stream_arena_bytes": stream["arena_bytes"],
                    f"{name}_stream_max_lsb_vs_window": stream["check"]["max_abs_int8_difference"],
                    f"{name}_stream_hops_compared": stream["check"]["hops_compared"]}
        figures |= row
        get = lambda key: row.get(f"{name}_{key}", "—")  # noqa: E731
        fmt = lambda value: f"{value:,}" if isinstance(value, int) else str(value)  # noqa: E731
        print(f"{name:22s} {fmt(window_macs):>12s} {fmt(get('window_macs_per_s_at_20ms')):>13s} "
              f"{fmt(get('window_macs_per_s_at_160ms')):>14s} {fmt(get('stream_macs_per_hop')):>10s} "
              f"{fmt(get('stream_macs_per_s')):>14s} {fmt(len(whole)):>8s} {fmt(get('window_arena_bytes')):>7s} "
              f"{fmt(get('stream_flash_bytes')):>12s} {fmt(get('stream_arena_bytes')):>12s} {fmt(get('stream_max_lsb_vs_window')):>7s}")
    write_results("streaming", figures)


if __name__ == "__main__":
    main()
