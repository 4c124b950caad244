// karyon-cli batch INDIR -o OUTDIR: every slide of a folder, one output folder each, a report after
// every slide; resumable; shardable (--shard i/N) for Slurm job arrays. karyon-cli batch-merge OUTDIR
// merges the shard reports.
//
// Exit codes: 0 every slide done; 1 a slide failed or was skipped (or a fatal model/disk error);
// 2 bad arguments; 130 stopped by SIGINT, 143 by SIGTERM (the same as `analyze`; re-run to continue).
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <iostream>

#include "cli_common.hpp"
#include "commands.hpp"
#include "karyon/core/errors.hpp"
#include "karyon/inference/model.hpp"
#include "karyon/pipeline/batch.hpp"

namespace karyon::cli {
namespace {

namespace fs = std::filesystem;

void print_totals(const pipeline::BatchReport& r, const fs::path& out, const std::optional<pipeline::Shard>& shard) {
  int done = 0, failed = 0, other = 0;
  for (const auto& row : r.rows) {
    if (row.status == pipeline::SlideStatus::Done) ++done;
    else if (row.status == pipeline::SlideStatus::Failed) ++failed;
    else ++other;
  }
  std::cerr << "batch: " << r.rows.size() << " slides: " << done << " done, " << failed << " failed, " << other
            << " not done\n";
  for (const auto& row : r.rows)
    if (row.status == pipeline::SlideStatus::Failed) std::cerr << "  failed: " << row.slide << ": " << row.error << "\n";
  std::cout << "report: " << pipeline::report_path(out, shard, "csv").string() << " (+ .json)\n";
}

}  // namespace

void register_batch_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("batch", "Analyse every slide of a folder (resumable; --shard for Slurm arrays)");
  struct Args {
    pipeline::AnalyzeOptions o;
    std::string input, out, list, model, devices, shard, log_json;
    std::vector<std::string> ext;
    bool recursive = false;
  };
  auto a = std::make_shared<Args>();
  cmd->add_option("input", a->input, "Folder of slides");
  cmd->add_option("-o,--out", a->out, "Output folder: one subfolder per slide plus batch_report.csv/json")->required();
  cmd->add_option("--list", a->list, "File with one slide path per line (relative to the file's folder), instead of a folder");
  cmd->add_flag("-r,--recursive", a->recursive, "Also look in subfolders");
  std::string default_ext;
  for (const auto& e : pipeline::default_slide_extensions()) default_ext += (default_ext.empty() ? "" : ",") + e;
  cmd->add_option("--ext", a->ext, "Slide extensions to pick up, comma-separated (default: " + default_ext + ")")
      ->delimiter(',')
      ->transform(CLI::Validator(
          [](std::string& e) {  // " .SVS" -> "svs" (case is ignored later)
            e.erase(0, e.find_first_not_of(" ."));
            e.erase(e.find_last_not_of(' ') + 1);
            return e.empty() ? std::string("an empty extension") : std::string();
          },
          "EXT", "extension"));
  cmd->add_option("--model", a->model, "Model card (JSON); default: the model shipped with Karyon");
  cmd->add_option("--devices,--device", a->devices,
                  "cpu, cuda:N, cuda:0,cuda:1 or cuda:all (default: cuda:all when there is a GPU, else cpu)");
  cmd->add_option("--mpp", a->o.mpp, "µm/px for every slide (only when the files do not say)");
  add_analysis_options(cmd, a->o);
  cmd->add_option("--shard", a->shard, "Only shard I of N (0-based), e.g. 2/8: slides at sorted positions p with p % N == I");
  cmd->add_option("--log-json", a->log_json, "Append one JSON object per event (slide start/done/failed) to this file");
  cmd->callback([a] {
    pipeline::DiscoverOptions d;
    d.input_dir = a->input;
    d.list_file = a->list;
    d.recursive = a->recursive;
    d.extensions = a->ext;
    auto slides = pipeline::discover_slides(d);
    if (slides.empty())
      throw core::InvalidArgument((a->list.empty() ? a->input : a->list) + ": no slides found (extensions: " +
                                  (a->ext.empty() ? "default list" : CLI::detail::join(a->ext, ",")) + (a->recursive ? "" : "; --recursive?") + ")");
    pipeline::BatchOptions b;
    const std::size_t all = slides.size();
    if (!a->shard.empty()) {
      b.shard = pipeline::parse_shard(a->shard);
      slides = pipeline::select_shard(slides, *b.shard);
    }
    b.slides = std::move(slides);
    b.out_dir = a->out;
    b.log_json = a->log_json;
    b.analyze = a->o;
    // Absolute, so that summary.json names the card whatever the working folder of a later run.
    if (!a->model.empty()) b.analyze.model = fs::absolute(a->model);
    b.analyze.device = !a->devices.empty() ? a->devices : inference::cuda_device_count() > 0 ? "cuda:all" : "cpu";

    std::cerr << "batch: " << b.slides.size() << " slide(s)";
    if (b.shard) std::cerr << " in shard " << b.shard->index << "/" << b.shard->count << " (of " << all << ")";
    std::cerr << " -> " << a->out << " on " << b.analyze.device << "\n";

    stop_on_signals();
    // Slide-level progress; off a terminal one line per 25 % (batch logs under Slurm stay short).
    ProgressLine printer(4);
    std::string prefix;
    auto on_event = [&](const pipeline::BatchEvent& e) {
      using K = pipeline::BatchEventKind;
      if (!e.row) return;
      const std::string pos = "[" + std::to_string(e.index) + "/" + std::to_string(e.total) + "]";
      prefix = pos + " " + e.row->output + ": tiles";
      printer.restart();
      switch (e.kind) {
        case K::SlideStart:
          std::cerr << pos << " " << e.row->slide << (e.resumed ? ": resuming the interrupted run\n" : ": start\n");
          break;
        case K::SlideReused:
          std::cerr << pos << " " << e.row->slide << ": done earlier (" << e.row->nuclei << " nuclei), skipped\n";
          break;
        case K::SlideDone:
          std::fprintf(stderr, "%s %s: done, %lld nuclei, %lld tiles, %.1f s\n", pos.c_str(), e.row->slide.c_str(),
                       static_cast<long long>(e.row->nuclei), static_cast<long long>(e.row->tiles), e.row->seconds);
          break;
        case K::SlideFailed:
          std::cerr << pos << " " << e.row->slide << ": FAILED: " << e.row->error << "\n";
          break;
        case K::SlideSkipped:
          std::cerr << pos << " " << e.row->slide << ": skipped: " << e.row->error << "\n";
          break;
        default:
          break;
      }
    };
    auto on_progress = [&](const pipeline::AnalyzeProgress& p) {
      printer.show(prefix, static_cast<long long>(p.tiles_done), static_cast<long long>(p.tiles_total),
                   analyze_progress_detail(p));
    };
    const auto result = pipeline::run_batch(b, on_event, on_progress, &stop_token());
    print_totals(result.report, b.out_dir, b.shard);
    if (result.cancelled) {
      std::cerr << "batch: stopped; finished slides are kept and the interrupted one resumes. Run the same command "
                   "again to continue.\n";
      throw core::Cancelled();  // main: exit 130 (SIGINT) or 143 (SIGTERM)
    }
    if (result.failed || result.skipped) throw CLI::RuntimeError(1);
  });

  auto* merge = app.add_subcommand("batch-merge", "Merge the shard reports of OUTDIR into batch_report.csv/json");
  auto out = std::make_shared<std::string>();
  merge->add_option("out", *out, "Output folder of the sharded batch")->required();
  merge->callback([out] {
    const auto r = pipeline::merge_shard_reports(*out);
    print_totals(r, *out, std::nullopt);
    for (const auto& row : r.rows)
      if (row.status != pipeline::SlideStatus::Done) throw CLI::RuntimeError(1);
  });
}

}  // namespace karyon::cli
