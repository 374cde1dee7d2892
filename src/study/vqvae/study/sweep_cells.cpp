#include <vqvae/study/sweep_cells.h>

#include <vqvae/core/checks.h>
#include <vqvae/evaluation/metrics.h>
#include <vqvae/initialization/codebook_init.h>
#include <vqvae/io/hdf5_file.h>
#include <vqvae/quantizers/nearest_codeword.h>
#include <vqvae/study/factory.h>

#include <ATen/ATen.h>
#include <c10/core/GradMode.h>

#include <type_traits>

namespace vqvae {
namespace {

std::string child(const std::string& group, const std::string& name) {
  return group == "/" ? name : group + "/" + name;
}

const char* kind_name(CellKind kind) { return kind == CellKind::training ? "training" : "kmeans_reference"; }

}  // namespace

at::Tensor sweep_latents(const SweepGrid& grid, const GaussianDataset& dataset) {
  c10::NoGradGuard no_grad;
  return make_encoder(grid.config, dataset)->forward(dataset.X).detach().contiguous();
}

CellResult run_cell(const SweepGrid& grid, const SweepCell& cell, const GaussianDataset& dataset) {
  const CellPlan plan = plan_cell(grid, cell);
  CellResult result;
  result.cell = cell;
  result.substitute = plan.substitute;
  result.skipped = plan.skipped;
  if (!plan.skipped.empty()) return result;
  if (cell.kind == CellKind::training) {
    TrainingRunOptions options = grid.options.training;
    options.shuffle_seed(std::nullopt).on_step(nullptr).on_eval(nullptr);  // batch order from the cell's seed
    result.run = run_training(build_model(plan.config, dataset), dataset.X, plan.config, options);
    return result;
  }
  // k-means on the whole dataset's latents, no gradient training (k-means++ seeding, Lloyd).
  const at::Tensor z = sweep_latents(grid, dataset);  // (N, k)
  const at::Tensor centres =
      kmeans_init(cell.codebook_size, z.size(1), z,
                  KMeansOptions().n_init(grid.options.kmeans_n_init).max_iter(grid.options.kmeans_max_iter).seed(cell.seed));
  const at::Tensor indices = nearest_codeword(z, centres.to(z.scalar_type()));
  const at::Tensor q = centres.to(at::kDouble).index_select(0, indices);
  result.kmeans_distortion = (z.to(at::kDouble) - q).pow(2).sum(1).mean().item<double>();
  result.kmeans_dead_codes = codebook_usage(indices, cell.codebook_size).dead_codes;
  return result;
}

void write_cell(Hdf5Writer& file, const std::string& group, const CellResult& r) {
  if (group != "/") file.create_group(group);
  file.write_attribute(group, "cell_index", r.cell.index);
  file.write_attribute(group, "cell_kind", std::string(kind_name(r.cell.kind)));
  file.write_attribute(group, "codebook_size", r.cell.codebook_size);
  file.write_attribute(group, "init", std::string(to_string(r.cell.init)));
  file.write_attribute(group, "seed", static_cast<int64_t>(r.cell.seed));
  file.write_attribute(group, "substitute", r.substitute);
  file.write_attribute(group, "skipped", r.skipped);
  if (!r.skipped.empty()) return;
  if (r.cell.kind == CellKind::kmeans_reference) {
    file.write_attribute(group, "kmeans_distortion", r.kmeans_distortion);
    file.write_attribute(group, "kmeans_dead_codes", r.kmeans_dead_codes);
    return;
  }
  const TrainingRunResult& run = r.run;
  file.create_group(child(group, "history"));
  for (const auto& [name, values] : history_columns(run.history))
    file.write_tensor(child(group, "history/" + name), at::tensor(values, at::kDouble));
  file.create_group(child(group, "summary"));
  for_each_summary_field([&](const char* name, auto member) { file.write_attribute(child(group, "summary"), name, run.summary.*member); });
  file.write_tensor(child(group, "summary/eigenvalues"), at::tensor(run.summary.eigenvalues, at::kDouble));
  file.write_tensor(child(group, "initial_codebook"), run.initial_codebook);
  file.write_tensor(child(group, "codebook"), run.codebook);
  file.write_attribute(group, "last_step", run.last_step);
}

CellResult read_cell(const Hdf5Reader& file, const std::string& group, const SweepGrid& grid) {
  const int64_t index = file.read_int_attribute(group, "cell_index");
  CellResult r;
  r.cell = grid_cell(grid, index);
  // The coordinates written must be the grid's at that index.
  const bool same = file.read_string_attribute(group, "cell_kind") == kind_name(r.cell.kind) &&
                    file.read_int_attribute(group, "codebook_size") == r.cell.codebook_size &&
                    file.read_string_attribute(group, "init") == to_string(r.cell.init) &&
                    file.read_int_attribute(group, "seed") == static_cast<int64_t>(r.cell.seed);
  if (!same) throw_invalid_argument(group, "is not cell " + std::to_string(index) + " (" + cell_name(r.cell, grid) + ") of its grid");
  r.substitute = file.read_string_attribute(group, "substitute");
  r.skipped = file.read_string_attribute(group, "skipped");
  if (!r.skipped.empty()) return r;
  if (r.cell.kind == CellKind::kmeans_reference) {
    r.kmeans_distortion = file.read_double_attribute(group, "kmeans_distortion");
    r.kmeans_dead_codes = file.read_int_attribute(group, "kmeans_dead_codes");
    return r;
  }
  TrainingRunResult& run = r.run;
  bool first = true;
  for_each_history_field([&](const char* name, auto member) {
    const at::Tensor column = file.read_tensor(child(group, std::string("history/") + name)).to(at::kDouble).contiguous();
    if (first) run.history.resize(static_cast<size_t>(column.numel()));
    first = false;
    check_shape(column, "read_cell", name, {static_cast<int64_t>(run.history.size())}, "(evaluations)");
    const double* values = column.data_ptr<double>();
    using Field = std::decay_t<decltype(run.history[0].*member)>;
    for (size_t e = 0; e < run.history.size(); ++e) run.history[e].*member = static_cast<Field>(values[e]);
  });
  const std::string summary = child(group, "summary");
  for_each_summary_field([&](const char* name, auto member) {
    using Field = std::decay_t<decltype(run.summary.*member)>;
    if constexpr (std::is_integral_v<Field>) run.summary.*member = file.read_int_attribute(summary, name);
    else run.summary.*member = file.read_double_attribute(summary, name);
  });
  const at::Tensor eigenvalues = file.read_tensor(child(group, "summary/eigenvalues")).to(at::kDouble).contiguous();
  run.summary.eigenvalues.assign(eigenvalues.data_ptr<double>(), eigenvalues.data_ptr<double>() + eigenvalues.numel());
  run.initial_codebook = file.read_tensor(child(group, "initial_codebook"));
  run.codebook = file.read_tensor(child(group, "codebook"));
  run.last_step = file.read_int_attribute(group, "last_step");
  run.status = RunStatus::completed;
  return r;
}

}  // namespace vqvae
