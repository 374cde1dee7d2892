#include "config_flags.h"

#include <vqvae/tensor/runtime.h>

#include <algorithm>
#include <iostream>
#include <type_traits>

namespace vqvae::cli {

ConfigFlags::ConfigFlags(CLI::App* command) {
  command->add_option("--config", config_file_, "JSON file with any of the keys below (snake_case); flags override it");
  for_each_config_field([&](const char* key, auto member, const char* help) {
    using T = std::decay_t<decltype(parsed_.*member)>;
    const std::string name = key;
    if (name == "threads") return;  // the global --threads
    if constexpr (std::is_arithmetic_v<T>) {
      CLI::Option* option = command->add_option(flag_of(name), parsed_.*member, help)->capture_default_str();
      if constexpr (std::is_unsigned_v<T>) option->check(non_negative_integer);  // CLI11 would wrap -1 to 2^64 - 1
      given_.emplace_back(option, [this, member](RunConfig& c) { c.*member = parsed_.*member; });
    } else {
      std::string& text = choice_text_.emplace_back(choice_text(parsed_.*member));
      CLI::Option* option = command->add_option(flag_of(name), text, help)->capture_default_str();
      given_.emplace_back(option, [&text, member, name](RunConfig& c) {
        parse_choice_text(text, c.*member, param(name));
      });
    }
  });
}

RunConfig ConfigFlags::resolve(const GlobalOptions& global) const {
  RunConfig config;
  if (!config_file_.empty()) apply_config_file(config_file_, config);
  for (const auto& [option, apply] : given_)
    if (option->count() > 0) apply(config);
  if (global.threads_given) config.threads = global.threads;
  check_config(config);
  return config;
}

int print_config(const RunConfig& config, const MemoryEstimate& estimate) {
  std::cout << config_to_json(config) << std::endl;
  std::cerr << format_memory_estimate(estimate, available_memory()) << std::endl;
  return 0;
}

void prepare_run(const RunConfig& config, const MemoryEstimate& estimate, const GlobalOptions& global,
                 const std::vector<std::pair<std::string, std::string>>& outputs, const std::string& codebook_size_key) {
  require_memory(estimate, available_memory());
  for (const auto& [flag, path] : outputs) check_output_folder(path, flag);
  resolve_device(global.device);
  set_threads(config.threads);
  if (const std::string warning = dead_by_construction_warning(config, codebook_size_key); !warning.empty())
    std::cerr << "vqvae: warning: " << spell_params(warning, flag_of) << std::endl;
}

}  // namespace vqvae::cli
