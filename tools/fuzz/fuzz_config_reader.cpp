// libFuzzer target: the JSON run-configuration reader, apply_config_file (`--config run.json`),
// then check_config on what it produced, as the program does. The documented outcome of a bad
// file is vqvae::InvalidArgument with one line; any other exception, a crash or a sanitizer
// report is a finding.
#include "fuzz_io.h"

#include <vqvae/tensor/checks.h>
#include <vqvae/study/run_config.h>

#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = vqvae::fuzz::write_input(data, size, "json");
  vqvae::RunConfig config;
  try {
    vqvae::apply_config_file(path, config);
    vqvae::check_config(config);
    (void)vqvae::config_to_json(config);
  } catch (const vqvae::InvalidArgument& e) {
    const std::string message = e.what();
    if (message.empty() || message.find('\n') != std::string::npos) {
      std::fprintf(stderr, "finding: InvalidArgument message is not one line: '%s'\n", message.c_str());
      std::abort();
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "finding: undocumented exception escaped apply_config_file: %s\n", e.what());
    std::abort();
  }
  return 0;
}
