// karyon-cli analyze SLIDE -o OUTDIR: every nucleus of a slide, with a progress bar; Ctrl-C stops
// cleanly and `--resume` finishes the job.
#include <cstdio>
#include <iostream>

#include "cli_common.hpp"
#include "commands.hpp"
#include "karyon/core/errors.hpp"
#include "karyon/pipeline/analyze.hpp"

namespace karyon::cli {

std::string analyze_progress_detail(const pipeline::AnalyzeProgress& p) {
  char detail[96];
  std::snprintf(detail, sizeof detail, "nuclei %lld  %.1f tiles/s  ETA %.0fs", static_cast<long long>(p.nuclei),
                p.tiles_per_second, p.eta_seconds);
  return detail;
}

void print_analyze_progress(const pipeline::AnalyzeProgress& p) {
  static ProgressLine line(10);
  line.show("tiles", static_cast<long long>(p.tiles_done), static_cast<long long>(p.tiles_total),
            analyze_progress_detail(p));
}

void add_analysis_options(CLI::App* cmd, pipeline::AnalyzeOptions& o) {
  cmd->add_option("--precision", o.precision, "fp32, fp16 or bf16 (CUDA)")->capture_default_str();
  cmd->add_option("--batch", o.batch_size, "Tiles per forward pass")->capture_default_str();
  cmd->add_option("--workers", o.workers_per_device, "Model replicas per device (default 0: one per core on CPU, at most 8, each with one thread; one per GPU)")->capture_default_str();
  cmd->add_option("--threads", o.threads_per_worker,
                  "Intra-op threads per CPU worker (default 0: OMP_NUM_THREADS or the cores, shared out between the workers)")
      ->capture_default_str();
  cmd->add_option("--readers", o.reader_threads, "Slide reader threads")->capture_default_str();
  cmd->add_option("--tile-size", o.tile_size, "Tile size, analysis px (raised to the model card's input.min_tile_size if smaller)")
      ->capture_default_str();
  cmd->add_option("--overlap", o.overlap, "Tile overlap, analysis px (default: largest nucleus diameter)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--score-threshold", o.score_threshold, "Minimum detection score (default: the model card's threshold)")
      ->check(CLI::Range(0.0, 1.0));
  cmd->add_option("--flips", o.test_time_flips,
                  "Test-time flips: 1 (off), 2 or 4 views per tile, fused; that many times the inference time "
                  "(docs/MODEL_CARD.md gives what they gain)")
      ->capture_default_str();
  cmd->add_option("--heatmap-cell", o.heatmap_cell_um, "Heatmap cell size, µm")->capture_default_str();
  cmd->add_flag("--gzip", o.gzip, "Write nuclei.geojson.gz");
  cmd->add_flag("--strict", o.strict,
                "Stop at a tile that cannot be decoded (default: read it from a coarser level or leave it out, and report it)");
}

void register_analyze_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("analyze", "Find every nucleus of a slide: GeoJSON, CSV, heatmap, summary");
  struct Args {
    pipeline::AnalyzeOptions o;
    std::string slide, out, model, region;
  };
  auto a = std::make_shared<Args>();
  cmd->add_option("slide", a->slide, "Slide file")->required();
  cmd->add_option("-o,--out", a->out, "Output folder")->required();
  cmd->add_option("--model", a->model, "Model card (JSON); default: the model shipped with Karyon");
  cmd->add_option("--device", a->o.device, "cpu, cuda:N or cuda:all")->capture_default_str();
  cmd->add_option("--region", a->region, "Only this region: x,y,w,h in level-0 px");
  cmd->add_option("--mpp", a->o.mpp, "Slide µm/px, when the file does not say (or says wrong)");
  add_analysis_options(cmd, a->o);
  cmd->add_flag("--resume", a->o.resume, "Finish an interrupted run in the same output folder");
  cmd->add_flag("--overwrite", a->o.overwrite,
                "Replace an earlier run's results (or files of the same names) in the output folder");
  cmd->callback([a] {
    a->o.slide = a->slide;
    a->o.out_dir = a->out;
    a->o.model = a->model;
    if (!a->region.empty()) a->o.region = parse_region(a->region);
    stop_on_signals();
    try {
      const auto s = pipeline::analyze_slide(a->o, print_analyze_progress, &stop_token());
      std::cout << "nuclei:   " << s.nuclei << "  (" << s.tiles_planned << " tiles";
      if (s.tiles_resumed) std::cout << ", " << s.tiles_resumed << " from the earlier run";
      std::cout << ", " << static_cast<int>(s.seconds) << " s)\n"
                << "results:  " << s.store.string() << "\n"
                << "geojson:  " << s.geojson.string() << "\n"
                << "csv:      " << s.csv.string() << "\n"
                << "heatmap:  " << s.heatmap_png.string() << " (+ " << s.heatmap_json.filename().string() << ")\n"
                << "summary:  " << s.summary_json.string() << "\n";
    } catch (const core::Cancelled&) {
      // The command as typed (model, tile size, ... included: --resume needs the same settings).
      std::cerr << "\nstopped; everything finished so far is saved. Continue with:\n  " << command_line_with("--resume")
                << "\n";
      throw;
    }
  });
}

}  // namespace karyon::cli
