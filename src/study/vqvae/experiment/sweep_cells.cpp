#include <vqvae/experiment/sweep_cells.h>

#include <vqvae/tensor/checks.h>
#include <vqvae/evaluation/metrics.h>
#include <vqvae/initialization/codebook_init.h>
#include <vqvae/io/hdf5_file.h>
#include <vqvae/search/nearest_codeword.h>
#include <vqvae/study/factory.h>

#include <ATen/ATen.h>
#include <c10/core/GradMode.h>


namespace vqvae {
namespace {

const char* kind_name(CellKind kind) { return kind == CellKind::training ? "training" : "kmeans_reference"; }

}  // namespace

at::Tensor sweep_latents(const SweepGrid& grid, const GaussianDataset& dataset) {
  c10::NoGradGuard no_grad;
  return make_encoder(grid.config, dataset)->forward(dataset.X).detach().contiguous();
}

at::Tensor sweep_test_latents(const SweepGrid& grid, const GaussianDataset& dataset) {
  c10::NoGradGuard no_grad;
  return make_encoder(grid.config, dataset)->forward(dataset.draw_test_set(grid.config.n_test).X).detach().contiguous();
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
    options.held_out(dataset.draw_test_set(grid.config.n_test).X);
    result.run = run_training(build_model(plan.config, dataset), dataset.X, plan.config, options);
    return result;
  }
  // k-means on the whole dataset's latents, no gradient training (k-means++ seeding, Lloyd); its
  // distortion on them and on the held-out set's latents.
  const at::Tensor z = sweep_latents(grid, dataset);  // (N, k)
  const at::Tensor centres =
      kmeans_init(cell.codebook_size, z.size(1), z,
                  KMeansOptions().n_init(grid.options.kmeans_n_init).max_iter(grid.options.kmeans_max_iter).seed(cell.seed));
  const auto distortion = [&](const at::Tensor& latents, int64_t& dead) {
    const at::Tensor indices = nearest_codeword(latents, centres.to(latents.scalar_type()));
    const at::Tensor q = centres.to(at::kDouble).index_select(0, indices);
    dead = codebook_usage(indices, cell.codebook_size).dead_codes;
    return (latents.to(at::kDouble) - q).pow(2).sum(1).mean().item<double>();
  };
  result.kmeans_distortion = distortion(z, result.kmeans_dead_codes);
  int64_t test_dead = 0;
  result.kmeans_test_distortion = distortion(sweep_test_latents(grid, dataset), test_dead);
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
    file.write_attribute(group, "kmeans_test_distortion", r.kmeans_test_distortion);
    return;
  }
  write_run_group(file, hdf5_child(group, "run"), r.run);
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
    r.kmeans_test_distortion = file.read_double_attribute(group, "kmeans_test_distortion");
    return r;
  }
  r.run = read_run_group(file, hdf5_child(group, "run"));
  return r;
}

}  // namespace vqvae
