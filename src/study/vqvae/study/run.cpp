#include <vqvae/study/run.h>

#include <vqvae/core/format.h>
#include <vqvae/io/atomic_file.h>
#include <vqvae/io/hdf5_file.h>
#include <vqvae/io/provenance.h>
#include <vqvae/study/factory.h>
#include <vqvae/tensor/checks.h>

#include <ATen/ATen.h>
#include <nlohmann/json.hpp>

#include <type_traits>

namespace vqvae {

FitSettings fit_settings(const RunConfig& config) {
  FitSettings settings;
  settings.optimizer = config.optimizer;
  settings.lr = config.lr;
  settings.batch_size = config.batch_size;
  settings.beta = config.beta;
  settings.seed = config.seed;
  return settings;
}

TrainingRunResult run_training(VQVAE model, const at::Tensor& x, const RunConfig& config,
                               const TrainingRunOptions& options) {
  return fit(std::move(model), x, fit_settings(config), options);
}

TrainingRunResult run_training(const RunConfig& config, const GaussianDataset& dataset,
                               const TrainingRunOptions& options) {
  TrainingRunOptions with_test = options;
  if (!with_test.held_out().defined()) with_test.held_out(dataset.draw_test_set(config.n_test).X);
  return run_training(build_model(config, dataset), dataset.X, config, with_test);
}

std::string summary_to_json(const RunSummary& s) {
  nlohmann::ordered_json j;
  for_each_summary_field([&](const char* name, auto member) { j[name] = s.*member; });
  j["eigenvalues"] = s.eigenvalues;
  return j.dump(2);
}

void write_run_group(Hdf5Writer& file, const std::string& group, const TrainingRunResult& run) {
  if (group != "/") file.create_group(group);
  file.create_group(hdf5_child(group, "history"));
  for (const auto& [name, values] : history_columns(run.history))
    file.write_tensor(hdf5_child(group, "history/" + name), at::tensor(values, at::kDouble));
  file.create_group(hdf5_child(group, "summary"));
  for_each_summary_field([&](const char* name, auto member) { file.write_attribute(hdf5_child(group, "summary"), name, run.summary.*member); });
  file.write_tensor(hdf5_child(group, "summary/eigenvalues"), at::tensor(run.summary.eigenvalues, at::kDouble));
  file.write_tensor(hdf5_child(group, "initial_codebook"), run.initial_codebook);
  file.write_tensor(hdf5_child(group, "codebook"), run.codebook);
  file.write_attribute(group, "status", std::string(to_string(run.status)));
  file.write_attribute(group, "last_step", run.last_step);
  if (run.status == RunStatus::diverged) {
    file.write_attribute(group, "diverged_at_step", run.diverged_at_step);
    file.write_attribute(group, "diverged_reason", run.stop_reason);
  }
}

TrainingRunResult read_run_group(const Hdf5Reader& file, const std::string& group) {
  TrainingRunResult run;
  bool first = true;
  for_each_history_field([&](const char* name, auto member) {
    const at::Tensor column = file.read_tensor(hdf5_child(group, std::string("history/") + name)).to(at::kDouble).contiguous();
    if (first) run.history.resize(static_cast<size_t>(column.numel()));
    first = false;
    check_shape(column, "read_run_group", name, {static_cast<int64_t>(run.history.size())}, "(evaluations)");
    const double* values = column.data_ptr<double>();
    using Field = std::decay_t<decltype(run.history[0].*member)>;
    for (size_t e = 0; e < run.history.size(); ++e) run.history[e].*member = static_cast<Field>(values[e]);
  });
  const std::string summary = hdf5_child(group, "summary");
  for_each_summary_field([&](const char* name, auto member) {
    using Field = std::decay_t<decltype(run.summary.*member)>;
    if constexpr (std::is_integral_v<Field>) run.summary.*member = file.read_int_attribute(summary, name);
    else run.summary.*member = file.read_double_attribute(summary, name);
  });
  const at::Tensor eigenvalues = file.read_tensor(hdf5_child(group, "summary/eigenvalues")).to(at::kDouble).contiguous();
  run.summary.eigenvalues.assign(eigenvalues.data_ptr<double>(), eigenvalues.data_ptr<double>() + eigenvalues.numel());
  run.initial_codebook = file.read_tensor(hdf5_child(group, "initial_codebook"));
  run.codebook = file.read_tensor(hdf5_child(group, "codebook"));
  run.status = parse_choice(kRunStatusNames, file.read_string_attribute(group, "status"), group + ": status");
  run.last_step = file.read_int_attribute(group, "last_step");
  return run;
}

void write_training_hdf5(const std::string& path, const TrainingRunResult& result,
                         const RunConfig& config, const TrainingRunOptions& options,
                         const std::string& command) {
  Hdf5Writer file(path);
  write_run_group(file, "/", result);
  write_config_attributes(file, config);
  write_provenance(file, command);
  file.write_attribute("/", "epochs", options.epochs());
  file.write_attribute("/", "steps", result.summary.steps);
  file.write_attribute("/", "eval_every", options.eval_every());
  file.write_attribute("/", "revive_dead_codes", static_cast<int64_t>(options.revive_dead_codes()));
  file.write_attribute("/", "revival_window", options.revival_window());
  file.commit();
}

void write_history_csv(const std::string& path, const std::vector<EvalRecord>& history) {
  const auto columns = history_columns(history);
  std::string csv;
  for (size_t c = 0; c < columns.size(); ++c) csv += (c ? "," : "") + columns[c].first;
  csv += "\n";
  for (size_t row = 0; row < history.size(); ++row) {
    for (size_t c = 0; c < columns.size(); ++c)
      csv += (c ? "," : "") + format_significant(columns[c].second[row], 10);
    csv += "\n";
  }
  write_file_atomically(path, csv);
}

}  // namespace vqvae
