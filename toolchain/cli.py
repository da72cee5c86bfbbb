"""`kws`: parse arguments, call one library function, print. No logic lives here."""
from __future__ import annotations

import dataclasses
import importlib
import json
import math
import sys
from contextlib import nullcontext
from pathlib import Path

import click

from toolchain.corpus.synth import ENGINES
from toolchain.embedding.teacher import TEACHERS
from toolchain.errors import KwsError, os_error_line
from toolchain.export.firmware import BOARD_NAMES


class _Group(click.Group):
    """Turn a KwsError, or an OS error no loader caught (permission, full disk, read-only), into one
    line on stderr and exit status 2. Anything else is a bug and keeps its traceback."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except KwsError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(2)
        except OSError as exc:
            click.echo(f"error: {os_error_line(exc)}", err=True)
            sys.exit(2)


class _Finite(click.FloatRange):
    """A float range that also refuses nan and ±inf (a plain range lets nan through)."""

    def convert(self, value, param, ctx):
        number = super().convert(value, param, ctx)
        if not math.isfinite(number):
            self.fail(f"{number} is not a finite number", param, ctx)
        return number


_POSITIVE = _Finite(min=0, min_open=True)
_FRACTION = _Finite(min=0, max=1, min_open=True, max_open=True)
_COUNT = click.IntRange(min=1)
_SEED = click.IntRange(min=0, max=2**32 - 1)  # what numpy and Keras accept as a seed
_FORCE = click.option("--force", is_flag=True, help="Replace an earlier output of this command (never anything else).")


class _LibraryDefault(click.Option):
    """An option whose default the library owns (a dataclass field, a constant), looked up only when
    the command runs or shows its help: importing the library at start-up would load TensorFlow
    for every `kws` call. Its help shows the value, not "(dynamic)"."""

    def get_default(self, ctx, call=True):
        return super().get_default(ctx, call=True)


class _LibraryChoice(click.Choice):
    """Choices the library owns (architectures), read when first needed, for the same reason."""

    def __init__(self, load):
        self._load = load
        self.case_sensitive = True

    @property
    def choices(self) -> tuple:
        return tuple(self._load())


def _library(spec: str):
    """A callable giving "module:NAME", or the default of a dataclass field "module:Class.field"."""
    module, _, attribute = spec.partition(":")
    name, _, field = attribute.partition(".")

    def value():
        owner = getattr(importlib.import_module(module), name)
        return {f.name: f.default for f in dataclasses.fields(owner)}[field] if field else owner
    return value


def _library_default(spec: str) -> dict:
    """click.option arguments for a default the library owns (see `_library`)."""
    return {"default": _library(spec), "show_default": True, "cls": _LibraryDefault}


_TRAIN = "toolchain.embedding.train:TrainConfig."
_EVAL = "toolchain.fewshot.evaluate:EvalConfig."


@click.group(cls=_Group)
@click.version_option(package_name="kws-toolchain")
def main() -> None:
    """Few-shot keyword spotting for microcontrollers."""


def _print_json(data) -> None:
    click.echo(json.dumps(data, indent=2, ensure_ascii=False))


@main.command()
@click.option("--languages", default="embedding", show_default=True, help="Comma list; 'embedding', 'heldout', 'all' name groups.")
@click.option("--words-per-language", type=_COUNT, default=None, help="First N words of each list (default: all).")
@click.option("--variants", type=int, default=24, show_default=True, help="Utterances per word (voices × speed × pitch × amplitude).")
@click.option("--seed", type=_SEED, default=0, show_default=True)
@click.option("--workers", type=_COUNT, default=None, help="Processes (default: all cores, at most 2).")
@click.option("--out", type=click.Path(path_type=Path), required=True)
@_FORCE
@click.option("--engine", type=click.Choice(ENGINES), default="espeak", show_default=True,
              help="Voice family: espeak-ng, Kokoro-82M speaking espeak-ng's IPA, MBROLA diphone voices of recorded "
                   "speakers (de, es, fa, fr, it, nl; `make mbrola-setup`), Open JTalk's Japanese HTS voices saying every word as a "
                   "loanword (`make openjtalk-setup`), or SVOX Pico (en, de, es, fr, it; kept for evaluation).")
def synth(languages, words_per_language, variants, seed, workers, out, engine, force):
    """Synthesise an MSWC-layout corpus (espeak-ng, Kokoro, MBROLA, Open JTalk or Pico voices; resumes if interrupted)."""
    from toolchain.corpus.languages import parse_languages
    from toolchain.corpus.synth import SynthConfig, synthesise

    config = SynthConfig(tuple(parse_languages(languages)), words_per_language, variants, seed, engine)
    summary = synthesise(config, out, workers, force=force)
    click.echo(f"wrote {summary['clips']} clips in {len(config.languages)} languages to {out}")


@main.command()
@click.argument("corpus", type=click.Path(path_type=Path))
@click.option("--format", "corpus_format", type=click.Choice(["auto", "mswc", "speech-commands", "folder"]), default="auto", show_default=True)
@click.option("--out", type=click.Path(path_type=Path), required=True, help="Output .npz (int8 features, labels, splits, frontend).")
@click.option("--strict", is_flag=True, help="Fail on the first bad file instead of skipping and listing it.")
@click.option("--cache", type=click.Path(path_type=Path), default=None, help="Feature cache folder (default ~/.cache/kws/features or $KWS_CACHE).")
@_FORCE
def features(corpus, corpus_format, out, strict, cache, force):
    """Turn a corpus (MSWC, Speech Commands or a folder) into cached int8 49×40 features."""
    from toolchain.features import DEFAULT_CACHE, featurise, save_feature_set
    from toolchain.frontend import FrontendParams

    from toolchain.corpus.any_corpus import read_corpus

    from toolchain.outputs import claim_files

    with claim_files([out], inputs={"CORPUS": corpus, "--cache": cache or DEFAULT_CACHE}, force=force):
        scan = read_corpus(corpus, corpus_format, strict)
        feature_set = featurise(scan.clips, FrontendParams(), cache_dir=cache or DEFAULT_CACHE, strict=strict)
        feature_set.skipped = scan.skipped + feature_set.skipped
        save_feature_set(feature_set, out)
    for path, reason in feature_set.skipped:
        click.echo(f"skipped: {reason}", err=True)
    click.echo(f"wrote {len(feature_set.records)} feature maps {feature_set.features.shape[1:]} int8 to {out}; skipped {len(feature_set.skipped)}")


@main.command("train-embedding")
@click.option("--corpus", type=click.Path(path_type=Path), required=True, multiple=True,
              help="MSWC-layout corpus (e.g. from `kws synth`); repeat to add voice families (noise comes from the first).")
@click.option("--out", type=click.Path(path_type=Path), required=True)
@click.option("--languages", default="embedding", show_default=True)
@click.option("--words-per-language", type=_COUNT, **_library_default(_TRAIN + "words_per_language"))
@click.option("--architecture", type=_LibraryChoice(_library("toolchain.embedding.registry:ARCHITECTURES")), **_library_default(_TRAIN + "architecture"))
@click.option("--epochs", type=_COUNT, **_library_default(_TRAIN + "epochs"))
@click.option("--batch-size", type=_COUNT, **_library_default(_TRAIN + "batch_size"))
@click.option("--learning-rate", type=_POSITIVE, **_library_default(_TRAIN + "learning_rate"))
@click.option("--seed", type=_SEED, default=0, show_default=True)
@click.option("--resume", is_flag=True, help="Continue from the last epoch backup in OUT.work/.")
@click.option("--init-from", type=click.Path(path_type=Path), default=None, help="Existing embedding to continue (transfer learning).")
@click.option("--head-epochs", type=click.IntRange(min=0), **_library_default(_TRAIN + "head_epochs"), help="With --init-from: epochs training only the new word layer.")
@click.option("--max-steps-per-epoch", type=_COUNT, default=None, help="Cap steps per epoch (smoke tests).")
@click.option("--teacher", type=click.Choice(TEACHERS), default=None,
              help="Distil a real-speech embedding into the student (training time only; `make distill-setup`).")
@click.option("--distill-weight", type=_POSITIVE, default=1.0, show_default=True, help="Weight of the teacher's cosine loss.")
@click.option("--distill-speech", type=click.Path(path_type=Path), default=None,
              help="With --teacher: a folder of recordings without word labels (real voices: `make realspeech`), "
                   "learned through the teacher's loss only.")
@click.option("--room-augment", is_flag=True,
              help="Also reverberate, colour (microphone, codec) and perturb vocal-tract length before the frontend.")
@click.option("--word-loss", type=_LibraryChoice(_library("toolchain.embedding.train:WORD_LOSSES")), **_library_default(_TRAIN + "word_loss"),
              help="am-softmax: classify words by cosine with an additive margin (tighter word directions for few-shot).")
@click.option("--margin", type=_POSITIVE, **_library_default("toolchain.embedding.margin:MarginParams.margin"),
              help="With --word-loss am-softmax: the margin taken off the target word's cosine.")
@_FORCE
def train_embedding_cmd(corpus, out, languages, words_per_language, architecture, epochs, batch_size, learning_rate, seed,
                        resume, init_from, head_epochs, max_steps_per_epoch, teacher, distill_weight, distill_speech, room_augment,
                        word_loss, margin, force):
    """Train the multilingual word classifier whose penultimate layer is the embedding."""
    from toolchain.augment import ROOM_AND_DEVICE, AugmentParams
    from toolchain.corpus.languages import parse_languages
    from toolchain.embedding.artifact import KIND
    from toolchain.embedding.margin import MarginParams
    from toolchain.embedding.train import TrainConfig, cluster_role, train_embedding
    from toolchain.outputs import claim_artifact

    config = TrainConfig(corpus[0], out, tuple(parse_languages(languages)), words_per_language, architecture, epochs, batch_size,
                         learning_rate, seed, resume, init_from, head_epochs, max_steps_per_epoch,
                         command="kws " + " ".join(sys.argv[1:]), extra_corpora=tuple(corpus[1:]), teacher=teacher,
                         distill_weight=distill_weight, distill_speech=distill_speech,
                         augment=ROOM_AND_DEVICE if room_augment else AugmentParams(), word_loss=word_loss,
                         margin=MarginParams(margin=margin))
    inputs = {"--corpus" if i == 0 else f"--corpus #{i + 1}": path for i, path in enumerate(corpus)}
    # in a TF_CONFIG cluster every worker runs this command; only the chief writes OUT
    is_chief, _ = cluster_role()
    claim = claim_artifact(out, KIND, inputs={**inputs, "--init-from": init_from, "--distill-speech": distill_speech},
                           force=force) if is_chief else nullcontext()
    with claim:
        manifest = train_embedding(config)
    t, b = manifest["training"], manifest["budget"]
    click.echo(f"embedding {manifest['embedding_hash']} → {out}: dev acc {t['dev_accuracy']:.3f}, test acc {t['test_accuracy']:.3f}, "
               f"trunk {b['trunk_int8_bytes']} B int8, {b['trunk_macs']:,} MACs, arena {b['trunk_arena_bytes']} B, {t['wall_time_s']} s")


@main.command()
@click.option("--keyword", "names", multiple=True, help="Keyword name; repeat with --shots for several keywords.")
@click.option("--shots", "shot_paths", multiple=True, type=click.Path(path_type=Path), help="Folder (or file) of recordings of the keyword before it.")
@click.option("--out", type=click.Path(path_type=Path), default=None, help="Output keyword model directory.")
@click.option("--add-to", type=click.Path(path_type=Path), default=None, help="Existing keyword model to extend (a new version is written beside it).")
@click.option("--embedding", type=click.Path(path_type=Path), default=None, help="Embedding directory (default: the shipped models/embedding).")
@click.option("--threshold", type=_FRACTION, **_library_default("toolchain.fewshot.enroll:DEFAULT_THRESHOLD"))
@click.option("--seed", type=_SEED, default=0, show_default=True)
@_FORCE
def enroll(names, shot_paths, out, add_to, embedding, threshold, seed, force):
    """Teach new keywords from a few recordings each (default 5)."""
    from toolchain.fewshot.enroll import enroll as run_enroll

    if len(names) != len(shot_paths):
        raise KwsError(f"enroll: {len(names)} --keyword but {len(shot_paths)} --shots; give one --shots per --keyword")
    manifest = run_enroll(list(zip(names, shot_paths)), out, embedding, add_to, threshold, seed, force)
    click.echo(f"keyword model v{manifest['version']} → {manifest['out']}: labels {manifest['labels']}, "
               f"train acc {manifest['training']['train_accuracy']:.3f}, {manifest['training']['wall_time_s']} s")


@main.command("eval-fewshot")
@click.option("--embedding", type=click.Path(path_type=Path), default=None, help="Embedding directory (default: shipped).")
@click.option("--corpus", type=click.Path(path_type=Path), required=True, help="MSWC-layout corpus holding words outside the embedding's vocabulary.")
@click.option("--out", type=click.Path(path_type=Path), required=True, help="Report directory (report.json, report.md).")
@click.option("--targets-per-group", type=_COUNT, **_library_default(_EVAL + "targets_per_group"))
@click.option("--shots", type=_COUNT, **_library_default(_EVAL + "shots"))
@click.option("--threshold", type=_FRACTION, **_library_default(_EVAL + "threshold"))
@click.option("--seed", type=_SEED, default=0, show_default=True)
@click.option("--no-baselines", is_flag=True, help="Skip the from-scratch and DTW baselines.")
@_FORCE
def eval_fewshot(embedding, corpus, out, targets_per_group, shots, threshold, seed, no_baselines, force):
    """Few-shot F1/FAR/FRR on unseen words, in and out of the embedding's languages, against baselines."""
    from toolchain.embedding.artifact import DEFAULT_EMBEDDING, load_embedding
    from toolchain.fewshot.evaluate import EvalConfig, evaluate_fewshot, markdown
    from toolchain.outputs import claim_folder

    config = EvalConfig(targets_per_group, shots, threshold, seed=seed, baselines=not no_baselines)
    with claim_folder(out, inputs={"--embedding": embedding or DEFAULT_EMBEDDING, "--corpus": corpus}, force=force):
        report = evaluate_fewshot(load_embedding(embedding), corpus, out, config)
    click.echo(markdown(report).split("## Per word")[0])


@main.command()
@click.option("--embedding", type=click.Path(path_type=Path), default=None)
@click.option("--corpus", type=click.Path(path_type=Path), required=True)
@click.option("--out", type=click.Path(path_type=Path), required=True, help="Folder for tsne.png and tsne.json.")
@click.option("--max-words", type=click.IntRange(min=2), default=30, show_default=True)
@click.option("--seed", type=_SEED, default=0, show_default=True)
@_FORCE
def tsne(embedding, corpus, out, max_words, seed, force):
    """t-SNE picture of embeddings of words the classifier never saw, with silhouette and 1-NN accuracy."""
    from toolchain.embedding.artifact import DEFAULT_EMBEDDING, load_embedding
    from toolchain.fewshot.tsne import embedding_view
    from toolchain.outputs import claim_folder

    with claim_folder(out, inputs={"--embedding": embedding or DEFAULT_EMBEDDING, "--corpus": corpus}, force=force):
        result = embedding_view(load_embedding(embedding), corpus, out, max_words, seed)
    click.echo(f"{result['png']}: {len(result['words'])} words, silhouette {result['silhouette_cosine']}, "
               f"1-NN accuracy {result['nearest_neighbour_accuracy']}")


@main.command()
@click.argument("model_dir", type=click.Path(path_type=Path))
@click.option("--out", type=click.Path(path_type=Path), required=True)
@click.option("--per-class", type=_COUNT, **_library_default("toolchain.convert.keyword_model:DEFAULT_PER_CLASS"), help="Representative clips per label for calibration.")
@click.option("--seed", type=_SEED, default=0, show_default=True)
@_FORCE
def convert(model_dir, out, per_class, seed, force):
    """Full-integer int8 quantization → model_int8.tflite, model_float.tflite, report.json/.md."""
    from toolchain.convert.keyword_model import convert_keyword_model, report_markdown

    report = convert_keyword_model(model_dir, out, per_class, seed, force)
    click.echo(report_markdown(report))


@main.command("export-firmware")
@click.argument("model_dir", type=click.Path(path_type=Path))
@click.option("--board", type=click.Choice(BOARD_NAMES), required=True)
@click.option("--out", type=click.Path(path_type=Path), required=True)
@click.option("--cpu", default="cortex-m4", show_default=True, help="Core for the generic cortex-m project.")
@click.option("--pyocd-target", default=None, help="pyOCD target name remembered for `kws flash` (cortex-m).")
@click.option("--inference-stride-ms", type=int, default=None,
              help="How often the firmware runs the model (default: the model's stride, lengthened when the board's "
                   "estimated inference time is longer).")
@click.option("--clock-mhz", type=_POSITIVE, default=None,
              help="Core clock of the cortex-m board, for its latency estimate and inference pace (Cortex-M4/M7).")
@click.option("--test-audio", type=click.Path(path_type=Path), default=None,
              help="Audio compiled into the qemu-mps2-an386 self-test (default: noise with two of the model's shots).")
@click.option("--measured", type=click.Path(path_type=Path), default=None,
              help="report.json of `kws run-emulated` for this model: pace the board from counted instructions.")
@_FORCE
def export_firmware_cmd(model_dir, board, out, cpu, pyocd_target, inference_stride_ms, clock_mhz, test_audio, measured, force):
    """C arrays, op resolver, model_settings.h and a firmware project from a converted model."""
    from toolchain.audio import load_audio, to_int16
    from toolchain.export.firmware import export_firmware

    audio = to_int16(load_audio(test_audio)) if test_audio else None
    summary = export_firmware(model_dir, board, out, cpu, pyocd_target, inference_stride_ms, clock_mhz, audio, measured,
                              force=force)
    click.echo(f"{board} project → {summary['project_dir']}: {summary['model_bytes']:,} B model, "
               f"{summary['op_count']} ops, arena {summary['tensor_arena_size']:,} B, {len(summary['files'])} files")
    realtime = summary["realtime"]
    stride = realtime["inference_stride_ms"]
    if realtime.get("latency_ms_range"):
        low, high = realtime["latency_ms_range"]
        click.echo(f"latency on {realtime['core']}: {low:g}–{high:g} ms per inference ({realtime['latency_source']})")
    if not realtime["keeps_up"]:
        click.echo(f"warning: inference every {stride} ms, but {realtime['core']} needs ~{realtime['latency_ms_estimate']} ms "
                   "per inference (estimate): the sketch will fall behind the microphone", err=True)
    if stride != realtime["model_inference_stride_ms"]:
        click.echo(f"note: inference every {stride} ms, not {realtime['model_inference_stride_ms']} ms; detection at this "
                   f"pace: kws stream-eval {model_dir} --corpus CORPUS --out DIR --inference-stride-ms {stride}")


@main.command("run-emulated")
@click.argument("export_dir", type=click.Path(path_type=Path))
@click.option("--kernels", type=click.Choice(["cmsis-nn", "reference"]), default="cmsis-nn", show_default=True,
              help="TFLM kernels to build with.")
@click.option("--cycles", is_flag=True,
              help="Run again under QEMU's execution trace and pace the Nano at the cycles per instruction estimated "
                   "from the executed instructions (Cortex-M4 TRM timings); ~100x slower than the counted run.")
def run_emulated_cmd(export_dir, kernels, cycles):
    """Build a qemu-mps2-an386 export with the real TFLM, run it on QEMU's Cortex-M4F and compare with the host."""
    from toolchain.firmware.selftest import run_emulated, summary_lines

    report = run_emulated(export_dir, kernels, cycles=cycles)
    for line in summary_lines(report):
        click.echo(line)
    exact = report["bit_exact"]
    if not all(exact.get(key) for key in ("features_vs_tflm_c", "features_vs_toolchain_frontend", "outputs", "decisions")):
        raise KwsError(f"{export_dir}: the emulated firmware differs from the host ({report['first_difference']})")


@main.command()
@click.argument("project_dir", type=click.Path(path_type=Path))
@click.option("--board", type=click.Choice(["nano33ble", "cortex-m"]), required=True)
@click.option("--port", default=None, help="Serial port (Arduino) or probe UID (pyOCD); auto-detected when omitted.")
@click.option("--target", default=None, help="pyOCD target (cortex-m).")
@click.option("--dry-run", is_flag=True, help="Print the commands without running anything.")
def flash(project_dir, board, port, target, dry_run):
    """Build an exported project and write it to the board (arduino-cli or pyOCD)."""
    import shlex

    from toolchain.flash import flash as run_flash

    for command in run_flash(board, project_dir, dry_run, port, target):
        click.echo(("would run: " if dry_run else "ran: ") + shlex.join(command))


@main.command()
@click.argument("model_dir", type=click.Path(path_type=Path))
@click.option("--data", type=click.Path(path_type=Path), required=True, help="Corpus (MSWC, Speech Commands or folder).")
@click.option("--report", type=click.Path(path_type=Path), required=True, help="Report JSON path (confusion PNGs go beside it).")
@click.option("--max-drop", type=_Finite(min=0), default=1.0, show_default=True, help="Fail when float → TFLM int8 accuracy drops more (points).")
@click.option("--max-per-label", type=_COUNT, default=300, show_default=True)
@click.option("--seed", type=_SEED, default=0, show_default=True)
@_FORCE
def simulate(model_dir, data, report, max_drop, max_per_label, seed, force):
    """Float Keras vs int8 on TFLM vs int8 on LiteRT, clip by clip; exits 1 when the drop is too large."""
    from toolchain.simulate.clips import simulate as run_simulate

    result = run_simulate(model_dir, data, report, max_drop, max_per_label, seed, progress=True, force=force)
    click.echo(result["table"])
    if not result["passed"]:
        sys.exit(1)


@main.command()
@click.argument("model_dir", type=click.Path(path_type=Path))
@click.argument("audio", type=click.Path(path_type=Path))
@click.option("--runtime", type=click.Choice(["checked", "tflm", "litert", "float", "twin"]), default="checked", show_default=True,
              help="checked: a model with a streaming twin runs it on TFLM hop by hop, as its device does; others use "
                   "LiteRT's builtin int8 kernels and TFLM for every window that can change a detection (the detections of "
                   "an all-TFLM run); tflm: every window on TFLM (~3× real time); twin: the streaming twin on TFLM.")
@click.option("--json", "as_json", is_flag=True, help="Print detections as JSON.")
@click.option("--inference-stride-ms", type=int, default=None,
              help="Run the model every N ms, as a slower board does (default: the model's own stride).")
@click.option("--quiet", is_flag=True, help="No progress bar or summary on stderr.")
def stream(model_dir, audio, runtime, as_json, inference_stride_ms, quiet):
    """Slide the 1 s window over a long recording at the firmware's inference stride, as the device does."""
    from toolchain.simulate.stream import stream_report

    report = stream_report(model_dir, audio, runtime, inference_stride_ms, progress=not quiet)
    detections = report["detections"]
    if as_json:
        _print_json(detections)
    else:
        for d in detections:
            click.echo(f"{d['time_s']:9.2f} s  {d['label']}  {d['score']:.3f}")
        click.echo(f"{len(detections)} detections")
    if not quiet:
        checked = (f", {report['windows_rerun_on_tflm']} re-run on TFLM ({report['windows_differing_from_tflm']} differed)"
                   if "windows_rerun_on_tflm" in report else "")
        click.echo(f"{report['seconds']:.0f} s of audio, {report['windows']} windows on {report['runtime']}{checked}; "
                   f"{report['wall_time_s']} s ({report['times_real_time']}× real time)", err=True)
    if report["frontend_seam_values_differing"]:
        click.echo(f"warning: {report['frontend_seam_values_differing']} feature values at block seams differ from one pass "
                   "over the file; detections near a seam may differ from the device's", err=True)


@main.command("stream-eval")
@click.argument("model_dir", type=click.Path(path_type=Path))
@click.option("--corpus", type=click.Path(path_type=Path), required=True)
@click.option("--out", type=click.Path(path_type=Path), required=True, help="Folder for stream_eval.json and det_curve.png.")
@click.option("--hours", type=_POSITIVE, default=1.0, show_default=True)
@click.option("--seed", type=_SEED, default=0, show_default=True)
@click.option("--inference-stride-ms", type=int, default=None,
              help="Run the model every N ms, as a slower board does (default: the model's own stride).")
@click.option("--runtime", type=click.Choice(["checked", "tflm", "litert", "float", "twin"]), default="checked", show_default=True,
              help="checked: a model with a streaming twin runs it on TFLM hop by hop, as its device does; others use "
                   "LiteRT's builtin int8 kernels and TFLM for every window that can change a detection at the model's "
                   "threshold (figures there equal an all-TFLM run); tflm: every window on TFLM (~3× real time).")
@click.option("--quiet", is_flag=True, help="No progress bar on stderr.")
@_FORCE
def stream_eval(model_dir, corpus, out, hours, seed, inference_stride_ms, runtime, quiet, force):
    """True positive rate and false accepts per hour on long synthetic streams, with a DET curve."""
    from toolchain.outputs import claim_folder
    from toolchain.simulate.stream import stream_eval as run_stream_eval

    with claim_folder(out, inputs={"MODEL_DIR": model_dir, "--corpus": corpus}, force=force):
        result = run_stream_eval(model_dir, corpus, out, hours, seed, inference_stride_ms, runtime, progress=not quiet)
    at = result["at_threshold"]
    click.echo(f"{result['hours']:.2f} h, {result['keyword_occurrences']} keyword occurrences: at threshold {result['threshold']}: "
               f"TPR {at['tpr']:.3f}, {at['fa_per_hour']:.2f} FA/h; FA/h at 90% TPR: {result['fa_per_hour_at_90_tpr']}, "
               f"at 95% TPR: {result['fa_per_hour_at_95_tpr']} (scored on {result['runtime']}, {result['wall_time_s']} s)")


@main.command()
@click.option("--work", type=click.Path(path_type=Path), default=Path("work/demo"), show_default=True)
@_FORCE
def demo(work, force):
    """Enrol a new word from 5 recordings, convert, export both firmware projects, simulate."""
    from toolchain.demo import run_demo
    from toolchain.embedding.artifact import DEFAULT_EMBEDDING
    from toolchain.outputs import claim_folder

    with claim_folder(work, option="--work", inputs={"the shipped embedding": DEFAULT_EMBEDDING}, force=force):
        passed = run_demo(work, force=force)["passed"]
    if not passed:
        sys.exit(1)


if __name__ == "__main__":
    main()
