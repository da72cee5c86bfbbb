"""The README's figures are rendered from the files measurements wrote, never pasted (benchmarks/render_readme.py)."""
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "benchmarks"))  # benchmarks are scripts that import their neighbours by name

import record  # noqa: E402
import render_readme  # noqa: E402
from render_readme import REGION, TEMPLATES, Sources, render, stale_regions  # noqa: E402

README = (REPO / "README.md").read_text(encoding="utf-8")


def test_readme_figures_match_the_committed_measurements():
    stale = stale_regions(README, Sources())
    assert not stale, f"README.md regions {stale} differ from benchmarks/results/*.json and models/*/manifest.json: run `make readme`"


def test_model_cards_carry_the_figures_measured_on_their_embedding():
    cards = {path: templates for path, templates in render_readme.documents().items() if path != render_readme.README}
    assert len(cards) == len(render_readme.MODELS), "every shipped embedding has a MODEL_CARD.md with a figures block"
    for path, templates in cards.items():
        text = path.read_text(encoding="utf-8")
        assert [m["name"] for m in REGION.finditer(text)] == ["model-card"], f"{path}: one model-card region"
        stale = stale_regions(text, Sources(), templates)
        assert not stale, f"{path}: figures differ from benchmarks/results/*.json: run `make readme`"


def test_every_template_has_its_region_in_the_readme():
    assert {m["name"] for m in REGION.finditer(README)} == set(TEMPLATES)


@pytest.fixture()
def results_copy(tmp_path) -> Path:
    results = tmp_path / "results"
    shutil.copytree(render_readme.RESULTS_DIR, results)
    return results


def test_a_changed_measurement_makes_exactly_its_regions_stale(results_copy):
    path = results_copy / "fewshot.json"
    data = json.loads(path.read_text())
    data["figures"]["in_embedding_f1"] = round(data["figures"]["in_embedding_f1"] - 0.1, 4)
    path.write_text(json.dumps(data))
    assert sorted(stale_regions(README, Sources(results_copy))) == ["fewshot-status", "measured-table"]


def test_a_benchmark_without_a_template_still_reaches_the_readme(results_copy):
    record.write_results("probe_speed", {"x_real_time": 61.5}, results_copy)
    rendered = render(README, Sources(results_copy))
    assert "1 figures in `benchmarks/results/probe_speed.json`, not yet placed in this README" in rendered
    assert "`benchmarks/results/probe_speed.json`: revision" in rendered
    assert stale_regions(README, Sources(results_copy)) == ["measured-sources", "measured-table"]


def test_a_missing_measurement_names_the_benchmark_to_run(results_copy):
    (results_copy / "device.json").unlink()
    with pytest.raises(SystemExit, match="benchmarks/device.py"):
        render(README, Sources(results_copy))


def test_results_record_revision_machine_and_flat_figures(tmp_path):
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPO, capture_output=True, text=True, check=True).stdout.strip()
    data = json.loads(record.write_results("probe", {"windows_per_s": 2500.0}, tmp_path).read_text())
    assert data["git_revision"] in (head, head + "+dirty")
    assert data["machine"]["nproc"] >= 1 and data["machine"]["cpu_model"] and data["machine"]["load_average_1min"] >= 0
    assert data["figures"] == {"windows_per_s": 2500.0} and data["date"].endswith("Z")
    with pytest.raises(ValueError, match="flat"):
        record.write_results("probe", {"streams": {"tpr": 0.9}}, tmp_path)


def _stream_eval_result(fa_at_95: float | None) -> dict:
    return {"hours": 1.0, "keyword_occurrences": 402, "streaming": {"inference_stride_ms": 160, "smoothing_window_ms": 300},
            "threshold": 0.8, "at_threshold": {"tpr": 0.903, "fa_per_hour": 0.0}, "fa_per_hour_at_90_tpr": 0.0,
            "threshold_at_90_tpr": 0.8, "fa_per_hour_at_95_tpr": fa_at_95, "threshold_at_95_tpr": 0.62 if fa_at_95 is not None else None}


@pytest.mark.parametrize("fa_at_95, verdict", [(0.0, "met"), (2.0, "not met"), (None, "not met")])
def test_the_streaming_embedding_at_the_nano_pace_renders_with_issue_10s_verdict(results_copy, fa_at_95, verdict):
    from device import stream_figures

    figures = {"embedding": "work/emb", "embedding_hash": "81df4156642737d0", "embedding_architecture": "ds_cnn_stream",
               "embedding_is_shipped": False, "macs_per_inference": 802016, "hop_ms": 160, "macs_per_s": 5012600,
               "nano_latency_ms_estimate": 50.2, "nano_keeps_up": True, "nano_core_share_estimate": 0.41,
               "nano_latency_ms_mac_model": 102.8, "nano_core_share_mac_model": 0.64,
               "emulated_core_share_low": 0.377, "emulated_core_share_high": 0.402, "emulated_core_share_estimate": 0.389,
               "runtime": "tflm_int8_streaming_twin", "frontend_seam_values_differing": 0}
    record.write_results("nano_stream", figures | stream_figures("stream", _stream_eval_result(fa_at_95)), results_copy)
    rendered = render(README, Sources(results_copy))
    region = next(m["body"] for m in REGION.finditer(rendered) if m["name"] == "nano-stream")
    assert f"(issue 10's goal, ≤ 0.5 FA/h at 95 % TPR: {verdict})" in region and "every 160 ms on TFLM" in region
    # the core's share by counted instructions (its range decides), the MAC model's beside it
    assert "~50 ms per hop and 39 % of the core [38–40 %]" in region and "≤ 60 % met" in region
    assert "the MAC model's estimate: ~103 ms, 64 %" in region
    assert ("95 % TPR never reached" in region) == (fa_at_95 is None)
    assert "`python benchmarks/nano_stream.py`" in next(m["body"] for m in REGION.finditer(rendered) if m["name"] == "measured-table")
    assert sorted(stale_regions(README, Sources(results_copy))) == ["measured-sources", "measured-table", "nano-stream"]


def _voices_run(prefix: str, distill_weight: float, room: bool, head_pooled: float, peer: bool = True,
                word_loss: str = "softmax") -> dict:
    """Flat figures of one benchmarks/voices.py run on the held-out languages (what flat_figures writes)."""
    figures = {f"{prefix}_embedding_hash": prefix[:16], f"{prefix}_teacher_name": "efficientword-net" if distill_weight else None,
               f"{prefix}_distill_weight": distill_weight, f"{prefix}_room_augment": room, f"{prefix}_word_loss": word_loss,
               f"{prefix}_voice_families": "espeak", f"{prefix}_architecture": "ds_cnn_stream", f"{prefix}_unseen_family": True}
    for scorer, pooled in (("head", head_pooled), ("prototype", 0.05), *((("peer", 0.0044),) if peer else ())):
        p = f"{prefix}_{scorer}_out_of_embedding"
        figures |= {f"{p}_words": 16, f"{p}_positives": 32, f"{p}_eer_pooled": pooled, f"{p}_eer_mean": pooled / 4}
    return figures


def test_the_ablation_table_puts_each_part_of_the_recipe_beside_the_recipe_run_and_the_peer(results_copy):
    figures = (_voices_run("lofo_espeak_to_kokoro", 1.0, True, 0.0312)
               | _voices_run("ablation_plain_espeak_to_kokoro", 0.0, False, 0.0625, peer=False)
               | _voices_run("ablation_room_espeak_to_kokoro", 0.0, True, 0.05, peer=False)
               | _voices_run("ablation_teacher_espeak_to_kokoro", 1.0, False, 0.04, peer=False)
               | _voices_run("ablation_heavy_espeak_to_kokoro", 3.0, True, 0.0290, peer=False)
               | _voices_run("ablation_am_espeak_to_kokoro", 1.0, True, 0.0200, peer=False, word_loss="am-softmax"))
    record.write_results("voices", figures, results_copy)
    table = render_readme.voices_ablation(Sources(results_copy)).splitlines()
    assert "held-out languages (16 targets, 32 positives)" in table[0]
    rows = [line for line in table if line.startswith("| espeak only → kokoro voices |")]
    assert [row.split(" | ")[1] for row in rows] == ["neither", "room augmentation", "teacher",
                                                     "teacher + room augmentation (the recipe run above)",
                                                     "teacher (loss weight 3) + room augmentation",
                                                     "teacher + room augmentation + additive-margin softmax",
                                                     "EfficientWord-Net (the peer)"]
    assert "6.25 % / 1.56 %" in rows[0] and "3.12 % / 0.78 %" in rows[3] and "2.00 % / 0.50 %" in rows[5] and "0.44 % / 0.11 %" in rows[6]
    # the embedding-language columns were not measured in this record: a dash, not a made-up figure
    assert rows[0].split(" | ")[2] == "—"


def test_ablation_rows_come_from_an_earlier_run_when_voices_json_was_remeasured_without_them(results_copy):
    earlier = (_voices_run("lofo_espeak_to_kokoro", 1.0, True, 0.0312)
               | _voices_run("ablation_plain_espeak_to_kokoro", 0.0, False, 0.0625, peer=False))
    record.write_results("voices_ablation", earlier, results_copy, git_revision="0123456789abcdef")
    record.write_results("voices", _voices_run("lofo_espeak_to_kokoro", 1.0, True, 0.0150), results_copy)
    table = render_readme.voices_ablation(Sources(results_copy))
    assert "`benchmarks/results/voices_ablation.json`" in table and "revision 0123456789ab" in table
    rows = [line for line in table.splitlines() if line.startswith("| espeak only → kokoro voices |")]
    assert "3.12 % / 0.78 %" in rows[1]  # the recipe row of the ablation's own run, not voices.json's 1.50 %
    # a voices.json that holds ablations again is the source, the earlier file no longer read
    record.write_results("voices", earlier | _voices_run("ablation_room_espeak_to_kokoro", 0.0, True, 0.05, peer=False), results_copy)
    table = render_readme.voices_ablation(Sources(results_copy))
    assert "voices_ablation.json" not in table and "room augmentation" in table


def test_the_head_decay_table_marks_the_shipped_decay(results_copy):
    figures = {"embedding_hash": "abc", "shipped_head_l2": 0.01, "targets_per_group": 16}
    for family in ("espeak", "kokoro"):
        for decay, pooled in ((0.0001, 0.04), (0.01, 0.02)):
            for group in ("in_embedding", "out_of_embedding"):
                figures |= {f"{family}_l2_{decay:g}_{group}_eer_pooled": pooled, f"{family}_l2_{decay:g}_{group}_eer_mean": pooled / 4,
                            f"{family}_l2_{decay:g}_{group}_f1": 0.9}
    record.write_results("head_decay", figures, results_copy)
    rows = [line for line in render_readme.head_decay_table(Sources(results_copy)).splitlines() if line.startswith("| ")][1:]
    assert [row.split(" | ")[0] for row in rows] == ["| 0.0001", "| **0.01** (shipped)"]
    assert rows[0].count("4.00 % / 1.00 %") == 4 and rows[1].count("2.00 % / 0.50 %") == 4


def test_a_run_trained_on_a_further_family_is_named_by_its_families_and_judged_like_the_others(results_copy):
    import voices

    assert voices._family_of("espeak+mbrola=d") == ("espeak+mbrola", Path("d")) and voices._left_out("espeak+mbrola") == "kokoro"
    assert voices._left_out("kokoro+mbrola") == "espeak"
    for spec in ("espeak+kokoro=d", "mbrola=d", "espeak+pico=d", "espeak+espeak=d", "espeak+mbrola="):
        with pytest.raises(SystemExit):
            voices._family_of(spec)  # no family left out, none tested, a family never trained here, no directory
    figures = _voices_run("lofo_espeak_to_kokoro", 1.0, True, 0.0312) | _voices_run("lofo_espeak+mbrola_to_kokoro", 1.0, True, 0.0075)
    record.write_results("voices", figures, results_copy)
    verdict = render_readme.voices_verdict(Sources(results_copy))
    assert "espeak → kokoro, held-out languages: 3.12 % vs the peer's 0.44 % (not met)" in verdict
    assert "espeak+mbrola → kokoro, held-out languages: 0.75 % vs the peer's 0.44 % (met)" in verdict
    assert render_readme._trained_families("espeak+mbrola") == "espeak + mbrola"
    assert render_readme._trained_families("espeak") == "espeak only"
